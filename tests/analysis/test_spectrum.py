"""Spectrum: streaming Welch equals scipy.signal.welch; peak interpolation; IEEE 1241 figures."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal as sps
from hypothesis import given, settings
from hypothesis import strategies as st

from livetrace import RealtimeConfig, RealtimeStream, TraceMetadata, WaveformTrace
from livetrace._errors import ConfigurationError
from livetrace.analysis import Spectrum, SpectrumResult
from livetrace.sources import SimulatedSource


def chunk(data: np.ndarray, start: int, rate: float = 1e3, disc: bool = False) -> WaveformTrace:
    return WaveformTrace(
        data, TraceMetadata(sample_rate=rate, start_index=start, discontinuity=disc)
    )


def split(x: np.ndarray, cuts: list[int]) -> list[np.ndarray]:
    return np.split(x, sorted(c % (len(x) + 1) for c in cuts))


def feed(sp: Spectrum, x: np.ndarray, cuts: list[int], rate: float = 1e3) -> SpectrumResult:
    pos = 0
    for part in split(x, cuts):
        sp.update(chunk(part, pos, rate))
        pos += len(part)
    return sp.result


@settings(max_examples=60, deadline=None)
@given(
    nperseg=st.integers(4, 64),
    overlap_frac=st.floats(0, 0.95),
    extra=st.integers(0, 600),
    channels=st.integers(1, 3),
    window=st.sampled_from(["hann", "blackmanharris", ("kaiser", 6.0), "boxcar"]),
    detrend=st.sampled_from(["constant", "linear", False]),
    scaling=st.sampled_from(["density", "spectrum"]),
    cuts=st.lists(st.integers(0, 10**6), max_size=8),
    seed=st.integers(0, 2**16),
)
def test_average_all_equals_welch_for_any_chunking(
    nperseg, overlap_frac, extra, channels, window, detrend, scaling, cuts, seed
):
    noverlap = min(int(nperseg * overlap_frac), nperseg - 1)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(nperseg + extra, channels)) + 2.0
    sp = Spectrum(
        nperseg=nperseg, noverlap=noverlap, window=window, detrend=detrend, scaling=scaling
    )
    r = feed(sp, x, cuts, rate=250.0)
    f, p = sps.welch(
        x,
        250.0,
        window=window,
        nperseg=nperseg,
        noverlap=noverlap,
        detrend=detrend,
        scaling=scaling,
        axis=0,
    )
    np.testing.assert_array_equal(r.frequencies, f)
    np.testing.assert_allclose(r.psd, p, rtol=1e-9, atol=1e-12 * float(np.max(p)))
    assert r.n_segments == (len(x) - nperseg) // (nperseg - noverlap) + 1


def test_one_channel_1d_shapes_and_complex_two_sided():
    rng = np.random.default_rng(1)
    z = rng.normal(size=3000) + 1j * rng.normal(size=3000) + 0.5
    sp = Spectrum(nperseg=256)
    r = feed(sp, z, [1000, 1777])
    f, p = sps.welch(z, 1e3, nperseg=256, return_onesided=False)
    np.testing.assert_array_equal(r.frequencies, f)  # scipy's (fftfreq) order
    assert r.frequencies[1] > 0 > r.frequencies[-1]
    np.testing.assert_allclose(r.psd, p, rtol=1e-9)
    x = rng.normal(size=3000)
    r2 = feed(Spectrum(nperseg=256, return_onesided=False), x, [5])
    np.testing.assert_allclose(
        r2.psd, sps.welch(x, 1e3, nperseg=256, return_onesided=False)[1], rtol=1e-9
    )
    assert r2.psd.shape == (256,)


def test_average_last_is_welch_of_the_last_segments():
    rng = np.random.default_rng(2)
    x = rng.normal(size=5000)
    nper, step, n_avg = 200, 100, 5
    sp = Spectrum(nperseg=nper, average="last", n_average=n_avg)
    r = feed(sp, x, [333, 2500, 4999])
    k = (len(x) - nper) // step + 1
    tail = x[(k - n_avg) * step : (k - 1) * step + nper]
    np.testing.assert_allclose(r.psd, sps.welch(tail, 1e3, nperseg=nper)[1], rtol=1e-9)
    assert r.n_segments == n_avg
    assert sp.n_segments_seen == k


@settings(max_examples=25, deadline=None)
@given(cuts=st.lists(st.integers(0, 10**6), max_size=8), seed=st.integers(0, 2**16))
def test_exponential_average_matches_the_recursion_and_any_chunking(cuts, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=1500)
    nper, alpha = 64, 0.3
    r = feed(Spectrum(nperseg=nper, average="exponential", alpha=alpha), x, cuts)
    ema = None
    for s in range(0, len(x) - nper + 1, nper // 2):
        p = sps.welch(x[s : s + nper], 1e3, nperseg=nper)[1]
        ema = p if ema is None else (1 - alpha) * ema + alpha * p
    np.testing.assert_allclose(r.psd, ema, rtol=1e-12)


def test_peak_frequency_is_interpolated_between_bins():
    fs = 1000.0
    t = np.arange(40000) / fs
    for f0 in (123.4, 250.77, 61.05):
        sp = Spectrum(sample_rate=fs, nperseg=1000)  # 1 Hz bins
        sp.update(np.sin(2 * np.pi * f0 * t + 0.3))
        assert abs(sp.result.peak_frequency - f0) < 1e-3
        gs = Spectrum(sample_rate=fs, nperseg=1000, window=("gaussian", 120))
        gs.update(np.sin(2 * np.pi * f0 * t + 0.3))
        assert abs(gs.result.peak_frequency - f0) < 0.01


def adc_signal(n, fs, f0, snr_db, hd3_dbc, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fs
    x = np.sin(2 * np.pi * f0 * t) + 10 ** (hd3_dbc / 20) * np.sin(2 * np.pi * 3 * f0 * t + 0.7)
    sigma = math.sqrt(0.5) * 10 ** (-snr_db / 20)  # noise power = signal power / SNR
    return x + rng.normal(scale=sigma, size=n)


@pytest.mark.parametrize(
    ("f0", "window"),
    [
        (1e6 * 1001.3 / 4096, "blackmanharris"),  # not bin-centred: low-side-lobe window
        (1e6 * 0.4003, ("kaiser", 14.0)),  # 3rd harmonic at 1.2 fs aliases to 0.2 fs
    ],
)
def test_adc_figures_of_a_known_signal(f0, window):
    fs, snr, hd3 = 1e6, 70.0, -60.0
    x = adc_signal(1 << 17, fs, f0, snr, hd3)
    sp = Spectrum(sample_rate=fs, nperseg=4096, window=window)
    sp.update(chunk(x[:50000], 0, fs))
    sp.update(chunk(x[50000:], 50000, fs))
    r = sp.result
    assert r.thd == pytest.approx(hd3, abs=0.5)
    assert r.snr == pytest.approx(snr, abs=0.5)
    sinad = -10 * math.log10(10 ** (-snr / 10) + 10 ** (hd3 / 10))
    assert r.sinad == pytest.approx(sinad, abs=0.5)
    assert r.enob == pytest.approx((r.sinad - 1.76) / 6.02, abs=1e-12)
    assert r.sfdr == pytest.approx(-hd3, abs=0.5)
    assert r.peak_frequency == pytest.approx(f0, abs=fs / 4096 * 0.01)


def test_hann_with_wider_tone_bins_and_multichannel_figures():
    fs = 1e6
    a = adc_signal(1 << 16, fs, fs * 1001.3 / 4096, 50.0, -40.0, seed=1)
    b = adc_signal(1 << 16, fs, fs * 333.6 / 4096, 40.0, -45.0, seed=2)
    sp = Spectrum(sample_rate=fs, nperseg=4096, tone_bins=12)
    sp.update(np.stack([a, b], axis=1))
    r = sp.result
    assert r.snr.shape == (2,)
    assert r.psd.shape == (2049, 2)
    np.testing.assert_allclose(r.snr, [50.0, 40.0], atol=0.7)
    np.testing.assert_allclose(r.thd, [-40.0, -45.0], atol=0.5)
    plain = Spectrum(sample_rate=fs, nperseg=4096)  # Hann's leakage caps SNR at ~36 dB
    plain.update(a)
    assert plain.main_lobe_bins == 2
    assert plain.result.snr < 40


def test_gap_restarts_segments_and_keeps_the_average():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=1000), rng.normal(size=700) * 3
    sp = Spectrum(nperseg=128)
    sp.update(chunk(a[:600], 0))
    sp.update(chunk(a[600:], 600))
    sp.update(chunk(b[:300], 5000))  # gap: no segment spans it
    sp.update(chunk(b[300:], 5300))
    _fa, pa = sps.welch(a, 1e3, nperseg=128)
    _fb, pb = sps.welch(b, 1e3, nperseg=128)
    na, nb = (1000 - 128) // 64 + 1, (700 - 128) // 64 + 1
    r = sp.result
    assert r.n_segments == na + nb
    np.testing.assert_allclose(r.psd, (pa * na + pb * nb) / (na + nb), rtol=1e-9)
    flagged = Spectrum(nperseg=128)
    flagged.update(chunk(a, 0))
    flagged.update(chunk(b, 1000, disc=True))
    np.testing.assert_allclose(flagged.result.psd, r.psd, rtol=1e-12)


def test_empty_result_reset_and_db_helpers():
    sp = Spectrum(sample_rate=100.0, nperseg=16)
    r0 = sp.result
    assert r0.n_segments == 0
    assert np.all(np.isnan(r0.psd))
    assert math.isnan(r0.snr)
    np.testing.assert_array_equal(r0.frequencies, np.fft.rfftfreq(16, 0.01))
    x = np.random.default_rng(4).normal(size=500)
    sp.update(x[:10])  # not yet a segment
    assert sp.result.n_segments == 0
    sp.update(x[10:])
    before = sp.result
    np.testing.assert_allclose(before.psd_db, 10 * np.log10(before.psd))
    np.testing.assert_allclose(before.amplitude**2, before.psd)
    assert before["n_segments"] == before.n_segments == 61
    sp.reset()
    fresh = Spectrum(sample_rate=100.0, nperseg=16)
    assert sp.result.n_segments == 0
    sp.update(x)
    fresh.update(x)
    for key in ("psd", "frequencies"):
        np.testing.assert_array_equal(sp.result[key], fresh.result[key])
    assert sp.result.peak_frequency == fresh.result.peak_frequency
    assert sp.result.n_segments == 61


def test_result_read_before_the_first_segment_is_not_stale():
    # a result read before any chunk must not survive a chunk that fixes the rate, the
    # channel count or the sidedness, even when that chunk completes no segment
    sp = Spectrum(nperseg=16)
    assert sp.result.sample_rate is None
    sp.update(WaveformTrace(np.zeros(8), TraceMetadata(sample_rate=1000.0, start_index=0)))
    r = sp.result
    assert r.sample_rate == 1000.0
    np.testing.assert_array_equal(r.frequencies, np.fft.rfftfreq(16, 1e-3))
    two = Spectrum(nperseg=16)
    assert two.result.psd.shape == (9,)
    two.update(np.zeros((8, 2)))
    assert two.result.psd.shape == (9, 2)
    cplx = Spectrum(nperseg=16)
    assert cplx.result.frequencies.size == 9
    cplx.update(np.zeros(8, dtype=np.complex128))
    np.testing.assert_array_equal(cplx.result.frequencies, np.fft.fftfreq(16))


def test_float32_computes_in_single_precision_close_to_welch():
    x = np.random.default_rng(5).normal(size=20000).astype(np.float32)
    sp = Spectrum(nperseg=512)
    sp.update(x)  # a bare array and no sample_rate: fs = 1, as in scipy
    ref = sps.welch(x.astype(np.float64), nperseg=512)[1]
    np.testing.assert_allclose(sp.result.psd, ref, rtol=2e-4)
    assert sp.result.frequencies[-1] == 0.5
    assert sp.result.psd.dtype == np.float64


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"nperseg": 2}, "nperseg must be an integer >= 4, got 2"),
        ({"nperseg": 64, "noverlap": 64}, "noverlap must be < nperseg (64), got 64"),
        ({"window": "nosuchwindow"}, "is not a scipy.signal.get_window window"),
        ({"nperseg": 8, "window": np.ones(7)}, "must hold nperseg=8 finite values"),
        ({"average": "median"}, "average must be one of 'all', 'last', 'exponential'"),
        ({"alpha": 0.0}, "alpha must be in (0, 1], got 0.0"),
        ({"scaling": "power"}, "scaling must be one of 'density', 'spectrum'"),
        ({"detrend": "quadratic"}, "detrend must be 'constant', 'linear' or False"),
        ({"sample_rate": 0.0}, "sample_rate must be a finite number > 0, got 0.0"),
        ({"n_average": 0}, "n_average must be an integer >= 1"),
    ],
)
def test_bad_parameters(kwargs, message):
    with pytest.raises(ConfigurationError) as info:
        Spectrum(**kwargs)
    assert message in str(info.value)


def test_usage_errors():
    sp = Spectrum(nperseg=8, return_onesided=True)
    with pytest.raises(ConfigurationError, match="cannot describe complex input"):
        sp.update(np.ones(16, dtype=complex))
    sp2 = Spectrum(nperseg=8, sample_rate=100.0)
    with pytest.raises(
        ConfigurationError,
        match=r"200\.0 Hz differs from the 100\.0 Hz in use \(given as sample_rate\)",
    ):
        sp2.update(chunk(np.ones(16), 0, rate=200.0))
    sp3 = Spectrum(nperseg=8)
    sp3.update(np.ones(16))
    with pytest.raises(TypeError, match="complex data after real data"):
        sp3.update(np.ones(16, dtype=complex))


def test_in_a_stream_rate_from_the_chunks():
    fs, n = 48000.0, 96000
    src = SimulatedSource(
        "sine",
        frequency=1000.0,
        sample_rate=fs,
        chunk_size=1000,
        realtime=False,
        n_samples=n,
        noise_level=1e-3,
        seed=1,
    )
    cfg = RealtimeConfig(sample_rate=fs, chunk_size=4800, buffer_size=48000, overflow="block")
    sp = Spectrum(nperseg=4096, window="blackmanharris")
    results = []
    with RealtimeStream(cfg, src, analyzers=[sp]) as stream:
        for c in stream:
            results.append(c.results["spectrum"])
    r = results[-1]
    assert r.sample_rate == fs
    assert r is sp.result
    assert r.n_segments == (n - 4096) // 2048 + 1
    assert r.peak_frequency == pytest.approx(1000.0, abs=0.05)
    # noise 1e-3 of amplitude 1 (sigma): SNR = 10 log10(0.5 / 1e-6) = 57 dB
    assert r.snr == pytest.approx(57.0, abs=0.7)
    assert results[0].n_segments == (4800 - 4096) // 2048 + 1
