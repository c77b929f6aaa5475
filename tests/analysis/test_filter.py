"""StreamingFilter: equals scipy's sosfilt/lfilter over the whole signal for any chunking."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as sps
from hypothesis import given, settings
from hypothesis import strategies as st

from livetrace import RealtimeConfig, RealtimeStream, TraceMetadata, WaveformTrace
from livetrace._errors import ConfigurationError
from livetrace.analysis import StreamingFilter
from livetrace.sources import SimulatedSource


def chunk(data: np.ndarray, start: int, rate: float = 1e3, disc: bool = False) -> WaveformTrace:
    return WaveformTrace(
        data, TraceMetadata(sample_rate=rate, start_index=start, discontinuity=disc)
    )


def split(x: np.ndarray, cuts: list[int]) -> list[np.ndarray]:
    return np.split(x, sorted(c % (len(x) + 1) for c in cuts))


def run(f: StreamingFilter, x: np.ndarray, cuts: list[int], rate: float = 1e3) -> np.ndarray:
    out, pos = [], 0
    for part in split(x, cuts):
        out.append(f.process(chunk(part, pos, rate)).data)
        pos += len(part)
    return np.concatenate(out)


DESIGNS = [
    {"kind": "lowpass", "order": 8, "cutoff": 50.0, "family": "butter"},
    {"kind": "highpass", "order": 3, "cutoff": 120.0, "family": "cheby1", "ripple": 0.5},
    {"kind": "bandpass", "order": 4, "cutoff": (40.0, 90.0), "family": "ellip"},
    {"kind": "bandstop", "order": 2, "cutoff": (100.0, 200.0), "family": "cheby2"},
    {"kind": "lowpass", "order": 5, "cutoff": 80.0, "family": "bessel"},
]


@settings(max_examples=40, deadline=None)
@given(
    design=st.sampled_from(DESIGNS),
    n=st.integers(1, 2000),
    channels=st.integers(1, 3),
    cuts=st.lists(st.integers(0, 10**6), max_size=8),
    steady=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_any_chunking_equals_sosfilt_of_the_whole(design, n, channels, cuts, steady, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, channels)) + 3.0
    f = StreamingFilter(sample_rate=1e3, zi="steady" if steady else None, **design)
    y = run(f, x, cuts)
    sos = f.sos
    zi = sps.sosfilt_zi(sos)[:, :, None] * x[0][None, None, :] if steady else None
    ref = sps.sosfilt(sos, x, axis=0, zi=zi)
    ref = ref[0] if steady else ref
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)
    assert y.shape == x.shape


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 1500),
    cuts=st.lists(st.integers(0, 10**6), max_size=6),
    fir=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_b_a_coefficients_equal_lfilter(n, cuts, fir, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    b = sps.firwin(31, 0.2) if fir else sps.butter(3, 0.1)[0]
    a = None if fir else sps.butter(3, 0.1)[1]
    f = StreamingFilter(b=b, a=a)
    out = [f.process(p) for p in split(x, cuts)]
    ref = sps.lfilter(b, 1.0 if a is None else a, x)
    np.testing.assert_allclose(np.concatenate(out), ref, rtol=1e-12, atol=1e-13)


def test_design_is_scipys_iirfilter():
    f = StreamingFilter(kind="bandpass", order=3, cutoff=(10, 20), family="ellip", sample_rate=100)
    ref = sps.iirfilter(
        3, [10, 20], rp=1.0, rs=60.0, btype="bandpass", ftype="ellip", output="sos", fs=100
    )
    np.testing.assert_array_equal(f.sos, ref)
    assert f.sos.shape == (3, 6)  # 2 * order poles for a band filter


def test_pure_gain_and_sos_given():
    g = StreamingFilter(b=[2.5])
    np.testing.assert_array_equal(g.process(np.arange(4.0)), [0.0, 2.5, 5.0, 7.5])
    sos = sps.butter(2, 0.3, output="sos")
    f = StreamingFilter(sos=sos)
    x = np.linspace(-1, 1, 50)
    np.testing.assert_allclose(f.process(x), sps.sosfilt(sos, x), rtol=1e-14, atol=0)


def test_float32_stays_float32_and_matches_float64_computation():
    x = np.random.default_rng(3).normal(size=5000).astype(np.float32)
    f = StreamingFilter(kind="lowpass", order=8, cutoff=100.0, sample_rate=1e3)
    y = np.concatenate([f.process(x[:1234]), f.process(x[1234:])])
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, sps.sosfilt(f.sos, x.astype(np.float64)).astype(np.float32))


def test_complex_input():
    rng = np.random.default_rng(4)
    x = rng.normal(size=300) + 1j * rng.normal(size=300)
    f = StreamingFilter(kind="lowpass", order=4, cutoff=100.0, sample_rate=1e3)
    y = np.concatenate([f.process(x[:100]), f.process(x[100:])])
    np.testing.assert_allclose(y, sps.sosfilt(f.sos, x), rtol=1e-12, atol=1e-14)


def test_multichannel_is_per_channel():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(700, 3))
    f = StreamingFilter(kind="highpass", order=4, cutoff=30.0, sample_rate=1e3)
    y = run(f, x, [100, 555])
    for ch in range(3):
        g = StreamingFilter(kind="highpass", order=4, cutoff=30.0, sample_rate=1e3)
        np.testing.assert_array_equal(y[:, ch], g.process(x[:, ch]))


@pytest.mark.parametrize("flag_only", [False, True])
def test_gap_resets_state_to_fresh(flag_only):
    rng = np.random.default_rng(6)
    a, b = rng.normal(size=500) + 5, rng.normal(size=400) - 5
    f = StreamingFilter(kind="lowpass", order=4, cutoff=50.0, zi="steady")
    f.process(chunk(a, 0))
    start = 500 if flag_only else 900  # a jump in start_index, or the discontinuity flag
    out = f.process(chunk(b, start, disc=flag_only)).data
    fresh = StreamingFilter(kind="lowpass", order=4, cutoff=50.0, zi="steady")
    np.testing.assert_array_equal(out, fresh.process(chunk(b, 0)).data)
    assert f.result.n_gaps == 1
    # without the gap the state would carry over: the outputs differ
    cont = StreamingFilter(kind="lowpass", order=4, cutoff=50.0, zi="steady")
    cont.process(chunk(a, 0))
    assert not np.allclose(cont.process(chunk(b, 500)).data, out)


def test_reset_equals_fresh_object():
    x = np.random.default_rng(7).normal(size=800)
    f = StreamingFilter(kind="lowpass", order=6, cutoff=60.0)
    f.process(chunk(x, 0))
    f.reset()
    fresh = StreamingFilter(kind="lowpass", order=6, cutoff=60.0)
    assert f.result.data is None
    assert f.result.n_samples == 0
    assert f.result.n_gaps == 0
    np.testing.assert_array_equal(f.process(chunk(x, 10)).data, fresh.process(chunk(x, 10)).data)
    assert f.result.start_index == fresh.result.start_index == 10


def test_process_keeps_metadata_and_update_keeps_result():
    f = StreamingFilter(kind="lowpass", order=2, cutoff=10.0)
    c = chunk(np.ones(64), 128)
    out = f.process(c)
    assert out is not c
    assert out.metadata.start_index == 128
    assert out.metadata.sample_rate == 1e3
    f.update(chunk(np.ones(32), 192))
    r = f.result
    assert r["start_index"] == 192
    assert r.n_samples == 96
    assert r.data.shape == (32,)
    assert not r.data.flags.writeable


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cutoff": 600.0, "sample_rate": 1e3}, "Nyquist frequency 500.0 Hz"),
        ({"cutoff": -1.0}, "finite and > 0 Hz, got -1.0"),
        ({"kind": "bandpass", "cutoff": (50.0, 20.0)}, "lo < hi, got lo=50.0 Hz, hi=20.0 Hz"),
        ({"kind": "bandpass", "cutoff": 50.0}, "needs cutoff=(low_hz, high_hz)"),
        ({"cutoff": 10.0, "order": 0}, "order must be an integer >= 1, got 0"),
        ({"cutoff": 10.0, "order": 2.5}, "order must be an integer >= 1, got 2.5"),
        ({"cutoff": 10.0, "family": "gauss"}, "family must be one of 'butter'"),
        ({"cutoff": 10.0, "kind": "notch"}, "kind must be one of 'lowpass'"),
        ({}, "give exactly one of cutoff"),
        ({"cutoff": 10.0, "b": [1.0]}, "got cutoff, b"),
        ({"sos": np.ones((2, 5))}, "sos must have shape (n_sections, 6)"),
        ({"b": [1.0], "a": [0.0, 1.0]}, "a[0] != 0"),
        ({"cutoff": 10.0, "zi": "ones"}, "zi must be None"),
        ({"cutoff": 10.0, "sample_rate": -5.0}, "sample_rate must be a finite number > 0"),
        ({"cutoff": 10.0, "family": "cheby1", "ripple": 0.0}, "ripple (dB)"),
    ],
)
def test_bad_parameters_raise_clear_errors(kwargs, message):
    with pytest.raises(ConfigurationError) as info:
        StreamingFilter(**kwargs)
    assert message in str(info.value)


def test_cutoff_checked_when_the_rate_arrives():
    f = StreamingFilter(cutoff=400.0)
    with pytest.raises(ConfigurationError, match=r"below the Nyquist frequency 250\.0 Hz"):
        f.process(chunk(np.ones(10), 0, rate=500.0))
    g = StreamingFilter(cutoff=100.0)
    with pytest.raises(
        ConfigurationError, match="StreamingFilter needs the sample rate and none is known"
    ):
        g.process(np.ones(10))
    g.process(chunk(np.ones(10), 0, rate=1e3))
    with pytest.raises(
        ConfigurationError,
        match=r"2000\.0 Hz differs from the 1000\.0 Hz in use \(the rate of its first chunk\)",
    ):
        g.process(chunk(np.ones(10), 10, rate=2e3))


def test_as_stream_transform_and_analyser():
    fs, n = 8000.0, 20000

    def source() -> SimulatedSource:
        return SimulatedSource(
            "square", frequency=100.0, sample_rate=fs, chunk_size=700, realtime=False, n_samples=n
        )

    cfg = RealtimeConfig(sample_rate=fs, chunk_size=1000, buffer_size=8000, overflow="block")
    transform = StreamingFilter(kind="lowpass", order=8, cutoff=500.0)  # rate from attach()
    watcher = StreamingFilter(kind="lowpass", order=2, cutoff=50.0, name="slow")
    outs, seen = [], []
    with RealtimeStream(cfg, source(), transforms=[transform], analyzers=[watcher]) as stream:
        for c in stream:
            outs.append(c.data.copy())
            seen.append(c.results["slow"].data.copy())
    ref_src = source()
    raw = np.concatenate([ref_src.acquire() for _ in range(-(-n // 700))])
    y = np.concatenate(outs)
    assert len(y) == n
    np.testing.assert_allclose(y, sps.sosfilt(transform.sos, raw), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.concatenate(seen), sps.sosfilt(watcher.sos, y), atol=1e-12)
