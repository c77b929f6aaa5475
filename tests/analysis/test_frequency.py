"""FrequencyCounter and the shared Schmitt edge detector: offline per-sample references,
chunking invariance under random splits and gaps, accuracy, stream attachment."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from livetrace import RealtimeConfig, RealtimeStream, SimulatedSource
from livetrace._errors import ConfigurationError
from livetrace._types import TraceMetadata, WaveformTrace
from livetrace.analysis import FrequencyCounter, FrequencyResult
from livetrace.analysis._trigger_core import EdgeDetector

RATE = 1000.0

pytestmark = pytest.mark.usefixtures("implementation")


# ---------------------------------------------------------------- offline references
def ref_edges(x, level, h, start=0):
    """Per-sample Schmitt reference: [(abs index, rising, interpolated time)]."""
    lo, hi = level - h / 2, level + h / 2
    state = -1
    last_up = last_dn = math.nan
    out = []
    for i, v in enumerate(x):
        if i > 0:
            a = float(x[i - 1])
            b = float(v)
            if not (a > level) and b > level:
                last_up = float(start + i - 1) + (level - a) / (b - a)
            if a > level and not (b > level):
                last_dn = float(start + i - 1) + (level - a) / (b - a)
        if v > hi:
            new = 1
        elif v < lo:
            new = 0
        else:
            continue
        if state == -1:
            state = new
            continue
        if new != state:
            out.append((start + i, new == 1, last_up if new else last_dn))
            state = new
    return out


def ref_measure(segments_edges, rate):
    """Reciprocal-count reference over a list of segments' edge lists."""
    n_periods = 0
    span = 0.0
    high = 0.0
    for edges in segments_edges:
        first = last = pending = math.nan
        for _, rising, t in edges:
            if rising:
                if not math.isnan(last):
                    n_periods += 1
                    if not math.isnan(pending):
                        high += pending
                if math.isnan(first):
                    first = t
                last = t
                pending = math.nan
            else:
                pending = t - last
        if not math.isnan(first):
            span += last - first
    if n_periods == 0 or not span > 0:
        return math.nan, math.nan, n_periods
    return n_periods / span * rate, high / span, n_periods


def make_signal(seed, n, quantize=True):
    """Noisy square-ish signal with varying period; quantized so samples hit the level."""
    rng = np.random.default_rng(seed)
    period = rng.uniform(4, 60)
    duty = rng.uniform(0.2, 0.8)
    i = np.arange(n)
    x = np.where((i / period) % 1.0 < duty, 1.0, -1.0) + rng.normal(0, 0.4, n)
    if quantize:
        x = np.round(x * 4) / 4
    return x


def chunks_from(x, cuts, gaps=(), rate=RATE, dtype=None):
    """WaveformTrace chunks of ``x`` split at ``cuts``; before chunk k in ``gaps`` 3 samples
    are dropped (a jump in start_index). Returns (chunks, kept segments with their starts)."""
    bounds = sorted({c for c in cuts if 0 < c < len(x)})
    pieces = list(zip([0, *bounds], [*bounds, len(x)], strict=True))
    chunks = []
    segments = []
    end = 0
    for k, (a, b) in enumerate(pieces):
        a2 = a + 3 if (k in gaps and k > 0) else a
        if a2 >= b:
            continue
        data = x[a2:b] if dtype is None else x[a2:b].astype(dtype)
        gap = a2 != end
        end = b
        if gap or not segments:
            segments.append([a2, []])
        segments[-1][1].append(data)
        chunks.append(WaveformTrace(data, TraceMetadata(sample_rate=rate, start_index=a2)))
    segs = [(s, np.concatenate(parts)) for s, parts in segments]
    return chunks, segs


# ---------------------------------------------------------------- the edge detector
@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 600),
    cuts=st.lists(st.integers(0, 600), max_size=12),
    h=st.sampled_from([0.0, 0.5, 1.0]),
    level=st.sampled_from([0.0, 0.25, -0.5]),
)
def test_edge_detector_matches_per_sample_reference(seed, n, cuts, h, level):
    x = make_signal(seed, n)
    det = EdgeDetector(level, h)
    got = []
    bounds = sorted({c for c in cuts if 0 < c < n})
    for a, b in zip([0, *bounds], [*bounds, n], strict=True):
        j, r, t = det.detect(x[a:b].astype(np.float64), a)
        got += list(zip(j.tolist(), r.tolist(), t.tolist(), strict=True))
    ref = ref_edges(x, level, h)
    assert [(j, r) for j, r, _ in got] == [(j, r) for j, r, _ in ref]
    np.testing.assert_array_equal([t for *_, t in got], [t for *_, t in ref])


def test_edge_detector_hysteresis_ignores_chatter():
    x = np.array([-1, 0.1, -0.1, 0.1, -0.1, 0.6, 0.1, -0.1, 0.1, -0.6, 1.0])
    det = EdgeDetector(0.0, 1.0)
    j, r, t = det.detect(x, 100)
    assert j.tolist() == [105, 109, 110]
    assert r.tolist() == [True, False, True]
    # rising: last upward crossing of 0 before sample 105 is between 104 (-0.1) and 105 (0.6)
    assert t[0] == 104 + 0.1 / 0.7
    # falling: the last downward crossing before 109 is between 108 (0.1) and 109 (-0.6),
    # not the earlier chatter between 106 and 107
    assert t[1] == 108 + (0 - 0.1) / (-0.6 - 0.1)
    assert t[2] == 109 + 0.6 / 1.6


# ---------------------------------------------------------------- counter: exactness
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(50, 3000),
    cuts=st.lists(st.integers(0, 3000), max_size=15),
    gaps=st.sets(st.integers(1, 15), max_size=3),
    h=st.sampled_from([0.0, 0.5]),
)
def test_counter_equals_offline_reference_under_chunking_and_gaps(seed, n, cuts, gaps, h):
    x = make_signal(seed, n)
    chunks, segs = chunks_from(x, cuts, gaps)
    fc = FrequencyCounter(level=0.0, hysteresis=h)
    for c in chunks:
        fc.update(c)
    r = fc.result
    seg_edges = [ref_edges(seg, 0.0, h, start) for start, seg in segs]
    freq, duty, n_periods = ref_measure(seg_edges, RATE)
    all_edges = [e for s in seg_edges for e in s]
    assert r.n_periods == n_periods
    assert r.edge_count == (
        sum(1 for e in all_edges if e[1]),
        sum(1 for e in all_edges if not e[1]),
    )
    assert r.last_edge_index == (all_edges[-1][0] if all_edges else None)
    np.testing.assert_array_equal(
        [r.frequency, r.duty_cycle], [freq, duty]
    )  # exact (NaN == NaN here)
    if not math.isnan(freq):
        assert r.period == pytest.approx(1 / freq, rel=1e-12)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    cuts=st.lists(st.integers(0, 5000), max_size=10),
    gate=st.sampled_from([0.05, 0.3, 1.3]),
)
def test_gated_counter_is_chunking_invariant(seed, cuts, gate):
    x = make_signal(seed, 5000)
    whole = FrequencyCounter(level=0.0, hysteresis=0.5, gate=gate, sample_rate=RATE)
    whole.update(x)
    split = FrequencyCounter(level=0.0, hysteresis=0.5, gate=gate, sample_rate=RATE)
    bounds = sorted({c for c in cuts if 0 < c < 5000})
    for a, b in zip([0, *bounds], [*bounds, 5000], strict=True):
        split.update(x[a:b])
    assert whole.result.gate_index == split.result.gate_index == int(5000 // round(gate * RATE)) - 1
    assert repr(whole.result) == repr(split.result)  # bit-exact, NaN included


def test_gated_counter_reports_the_last_completed_gate():
    rate = 1e4
    n = 30_000  # 3 gates of 1 s
    i = np.arange(n)
    f = np.where(i < 20_000, 10.0, 25.0)  # 10 Hz in gates 0-1, 25 Hz in gate 2
    phase = np.cumsum(f / rate)
    x = np.sin(2 * np.pi * phase)
    fc = FrequencyCounter(level=0.0, hysteresis=0.2, gate=1.0, sample_rate=rate)
    fc.update(x[:19_999])
    assert fc.result.gate_index == 0
    assert fc.result.frequency == pytest.approx(10.0, rel=1e-4)
    fc.update(x[19_999:])
    assert fc.result.gate_index == 2
    assert fc.result.frequency == pytest.approx(25.0, rel=1e-4)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), cuts=st.lists(st.integers(0, 4000), max_size=10))
def test_auto_level_is_chunking_invariant(seed, cuts):
    rng = np.random.default_rng(seed)
    x = 3.0 + 2.0 * np.sign(np.sin(np.arange(4000) / 7.3)) + rng.normal(0, 0.05, 4000)
    whole = FrequencyCounter(sample_rate=RATE, auto_samples=1000)
    whole.update(x)
    split = FrequencyCounter(sample_rate=RATE, auto_samples=1000)
    bounds = sorted({c for c in cuts if 0 < c < 4000})
    for a, b in zip([0, *bounds], [*bounds, 4000], strict=True):
        split.update(x[a:b])
    first = x[:1000]
    assert split.result.level == (first.min() + first.max()) / 2
    assert split.result.hysteresis == 0.1 * (first.max() - first.min())
    assert repr(whole.result) == repr(split.result)  # bit-exact, NaN included
    assert split.result.n_periods > 50


def test_auto_level_measures_nothing_until_enough_samples():
    fc = FrequencyCounter(sample_rate=RATE, auto_samples=1000)
    x = np.sign(np.sin(np.arange(1500) / 5.0))
    fc.update(x[:999])
    r = fc.result
    assert math.isnan(r.level)
    assert r.edge_count == (0, 0)
    fc.update(x[999:])
    assert fc.result.level == 0.0
    assert fc.result.edge_count[0] == 47


# ---------------------------------------------------------------- counter: accuracy
def test_sine_1khz_with_noise_over_one_second_is_within_1e_6():
    rate = 1e6
    n = 1_000_000
    rng = np.random.default_rng(12345)
    x = np.sin(2 * np.pi * 1e3 * np.arange(n) / rate) + rng.normal(0, 1e-3, n)
    fc = FrequencyCounter(level=0.0, hysteresis=0.05, sample_rate=rate)
    for k in range(0, n, 65536):
        fc.update(x[k : k + 65536].astype(np.float32))
    r = fc.result
    assert abs(r.frequency - 1e3) / 1e3 < 1e-6
    assert abs(r.period - 1e-3) / 1e-3 < 1e-6
    assert r.duty_cycle == pytest.approx(0.5, abs=1e-4)
    assert r.n_periods == 998
    assert r.edge_count == (999, 1000)


def test_square_duty_cycle_and_period():
    rate = 1e5
    i = np.arange(100_000)
    x = np.where((i % 400) < 100, 3.3, 0.0)  # 250 Hz, 25 % duty
    fc = FrequencyCounter(level=1.65, hysteresis=0.5, sample_rate=rate)
    fc.update(x)
    r = fc.result
    assert r.frequency == pytest.approx(250.0, rel=1e-12)
    assert r.duty_cycle == pytest.approx(0.25, rel=1e-12)
    assert r["frequency"] == r.frequency
    assert isinstance(r, FrequencyResult)


def test_every_channel_gives_arrays():
    rate = 1e4
    i = np.arange(20_000)
    x = np.stack([np.sin(2 * np.pi * 50 * i / rate), np.sin(2 * np.pi * 120 * i / rate)], 1)
    fc = FrequencyCounter(level=0.0, hysteresis=0.1, sample_rate=rate, channel=None)
    fc.update(x[:7000])
    fc.update(x[7000:])
    r = fc.result
    np.testing.assert_allclose(r.frequency, [50.0, 120.0], rtol=1e-7)  # linear interp.
    assert r.edge_count.shape == (2, 2)
    one = FrequencyCounter(level=0.0, hysteresis=0.1, sample_rate=rate, channel=1)
    one.update(x)
    assert one.result.frequency == r.frequency[1]


def test_gap_drops_the_half_seen_edge():
    x = np.array([-1.0, -1.0, 1.0, 1.0, -1.0, -1.0])
    fc = FrequencyCounter(level=0.0, hysteresis=0.0, sample_rate=RATE)
    fc.update(WaveformTrace(x[:2], TraceMetadata(sample_rate=RATE, start_index=0)))
    # 10 samples lost: the next high sample must not be taken as a rising edge
    fc.update(WaveformTrace(x[2:], TraceMetadata(sample_rate=RATE, start_index=12)))
    assert fc.result.edge_count == (0, 1)
    assert fc.result.last_edge_index == 14


def test_reset_restores_fresh_state():
    x = make_signal(7, 2000)
    fc = FrequencyCounter(sample_rate=RATE, auto_samples=500)
    fc.update(x)
    before = fc.result
    fc.reset()
    assert fc.result.edge_count == (0, 0)
    assert math.isnan(fc.result.frequency)
    fc.update(x)
    assert repr(before) == repr(fc.result)


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"hysteresis": -0.1}, "hysteresis must be a finite number >= 0"),
        ({"level": float("nan")}, "level must be a finite number"),
        ({"gate": 0}, "gate must be a finite number > 0 \\(seconds\\) or None, got 0"),
        ({"sample_rate": -1.0}, "sample_rate must be a finite number > 0, got -1.0"),
        ({"channel": -1}, "channel must be an integer >= 0, got -1"),
        ({"auto_samples": 1}, "auto_samples must be an integer >= 2, got 1"),
    ],
)
def test_bad_parameters_raise_clear_errors(kwargs, message):
    with pytest.raises(ConfigurationError, match=message):
        FrequencyCounter(**kwargs)


def test_unknown_rate_and_wrong_channel_are_refused():
    with pytest.raises(
        ConfigurationError, match="FrequencyCounter needs the sample rate and none is known"
    ):
        FrequencyCounter(level=0.0, hysteresis=0.0).update(np.zeros(10))
    with pytest.raises(ConfigurationError, match="channel=2 but the chunk has 2 channel"):
        FrequencyCounter(level=0.0, hysteresis=0.0, sample_rate=1.0, channel=2).update(
            np.zeros((10, 2))
        )
    fc = FrequencyCounter(level=0.0, hysteresis=0.0)
    fc.update(WaveformTrace(np.zeros(4), TraceMetadata(sample_rate=10.0)))
    with pytest.raises(
        ConfigurationError,
        match=r"20\.0 Hz differs from the 10\.0 Hz in use \(the rate of its first chunk\)",
    ):
        fc.update(WaveformTrace(np.zeros(4), TraceMetadata(sample_rate=20.0, start_index=4)))


# ---------------------------------------------------------------- attached to a stream
def square_1khz(n_samples: int, chunk_size: int) -> SimulatedSource:
    """A 1 kHz square wave at 1 MS/s, as fast as the stream takes it (starts high)."""
    return SimulatedSource(
        "square",
        frequency=1e3,
        sample_rate=1e6,
        realtime=False,
        n_samples=n_samples,
        chunk_size=chunk_size,
    )


def test_counter_on_a_real_stream():
    src = square_1khz(200_000, 10_000)
    cfg = RealtimeConfig(sample_rate=1e6, chunk_size=16_384, buffer_size=200_000, overflow="block")
    fc = FrequencyCounter(level=0.0, hysteresis=0.5)
    seen = []
    with RealtimeStream(cfg, src, analyzers=[fc]) as stream:
        for chunk in stream:
            seen.append(chunk.results["frequency"])
    assert fc.sample_rate == 1e6  # from attach()
    last = seen[-1]
    assert last.frequency == pytest.approx(1000.0, rel=1e-9)
    assert last.duty_cycle == pytest.approx(0.5, rel=1e-9)
    assert last.edge_count == (199, 200)
    assert math.isnan(seen[0].frequency) is False


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 5000),
    cuts=st.lists(st.integers(0, 5000), max_size=8),
    h=st.sampled_from([0.0, 0.1, 1.0]),
    kind=st.sampled_from(["sine", "noise", "steps", "nan"]),
    dtype=st.sampled_from(["float32", "float64"]),
)
def test_compiled_and_numpy_detectors_give_identical_edges(seed, n, cuts, h, kind, dtype):
    """Edge positions, directions and interpolated times: bit for bit, whatever the chunking."""
    from livetrace.analysis import _compiled

    if _compiled.kernels is None:
        pytest.skip("the compiled kernels were not built")
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    x = {
        "sine": np.sin(2 * np.pi * t / rng.uniform(3, 900)) + rng.normal(0, 0.05, n),
        "noise": rng.normal(0, 1, n),
        "steps": np.repeat(rng.choice([-1.0, 0.0, 0.05, 1.0], n // 7 + 1), 7)[:n],
        "nan": np.where(rng.random(n) < 0.05, np.nan, np.sin(t / 20.0)),
    }[kind].astype(dtype)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LIVETRACE_NO_KERNEL", "")
        fast = EdgeDetector(0.0, h)
        mp.setenv("LIVETRACE_NO_KERNEL", "1")
        slow = EdgeDetector(0.0, h)
    assert fast._kernel is not None
    assert slow._kernel is None
    bounds = sorted({c for c in cuts if 0 < c < n})
    for a, b in zip([0, *bounds], [*bounds, n], strict=True):
        jf, rf, tf = fast.detect(fast.column(x[a:b, None], 0), a)
        js, rs, ts = slow.detect(x[a:b].astype(np.float64), a)
        np.testing.assert_array_equal(jf, js)
        np.testing.assert_array_equal(rf, rs)
        np.testing.assert_array_equal(tf, ts)  # NaN where no crossing was seen, in both
