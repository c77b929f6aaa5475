"""Triggers: offline per-sample references on the concatenated signal, random chunkings and
gaps, holdoff / modes / capture across chunks, measurements, errors, stream attachment."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_frequency import chunks_from, make_signal, ref_edges, square_1khz

from livetrace import RealtimeConfig, RealtimeStream
from livetrace._errors import ConfigurationError
from livetrace._types import TraceMetadata, WaveformTrace
from livetrace.analysis import (
    EdgeTrigger,
    FrequencyCounter,
    GlitchTrigger,
    PulseWidthTrigger,
    RuntTrigger,
    TriggerFrame,
    TriggerResult,
    WindowTrigger,
)

RATE = 1000.0

pytestmark = pytest.mark.usefixtures("implementation")


# ---------------------------------------------------------------- offline references
def interp(x, k, level, start):
    a, b = float(x[k - 1]), float(x[k])
    return float(start + k - 1) + (level - a) / (b - a)


def ref_candidates(trig, x, start):
    """Per-sample detection on one contiguous segment: {abs index: interpolated time}."""
    out = {}
    if isinstance(trig, EdgeTrigger):
        for j, rising, t in ref_edges(x, trig.level, trig.hysteresis, start):
            if trig.slope == "either" or rising == (trig.slope == "rising"):
                out[j] = t
    elif isinstance(trig, PulseWidthTrigger):
        prev_t = math.nan
        for j, rising, t in ref_edges(x, trig.level, trig.hysteresis, start):
            w = t - prev_t
            prev_t = t
            c = trig.condition
            if c == "<":
                ok = w < trig.width * RATE
            elif c == ">":
                ok = w > trig.width * RATE
            elif c == "inside":
                ok = trig.min_width * RATE < w < trig.max_width * RATE
            else:
                ok = w < trig.min_width * RATE or w > trig.max_width * RATE
            if trig.polarity == "positive":
                ok = ok and not rising
            elif trig.polarity == "negative":
                ok = ok and rising
            if ok:
                out[j] = t
    elif isinstance(trig, RuntTrigger):
        zones = []  # zones entered, in order
        for k, v in enumerate(x):
            z = 1 if v > trig.high else (-1 if v < trig.low else 0)
            if zones and zones[-1] == z:
                continue
            zones.append(z)
            if (
                len(zones) >= 3
                and zones[-2] == 0
                and zones[-3] == z
                and z != 0
                and (
                    (trig.polarity == "positive" and z == -1)
                    or (trig.polarity == "negative" and z == 1)
                    or trig.polarity == "either"
                )
            ):
                out[start + k] = interp(x, k, trig.low if z == -1 else trig.high, start)
    elif isinstance(trig, WindowTrigger):
        for k in range(1, len(x)):
            a, b = x[k - 1], x[k]
            ia = trig.low <= a <= trig.high
            ib = trig.low <= b <= trig.high
            if ia == ib:
                continue
            if trig.condition == "enter" and ib:
                out[start + k] = interp(x, k, trig.low if a < trig.low else trig.high, start)
            if trig.condition == "exit" and not ib:
                out[start + k] = interp(x, k, trig.low if b < trig.low else trig.high, start)
    return out


def ref_frames(trig, segments):
    """Acceptance rule simulated per sample over contiguous segments; returns the complete
    frames as (trigger_index, trigger_time_samples, forced, data)."""
    pre, post = trig.pre, trig.post
    hold = trig.holdoff * RATE
    timeout = max(1, round(trig.auto_timeout * RATE))
    next_allowed = -math.inf
    armed = True
    frames = []
    for start, x in segments:
        cands = ref_candidates(trig, x[:, trig.channel], start)
        armed_from = start + pre
        anchor = armed_from
        end = start + len(x)
        for i in range(start, end):
            if not armed:
                break
            fired = None
            if i in cands and i >= max(next_allowed, armed_from):
                fired = (i, cands[i], False)
            elif trig.mode == "auto" and i == anchor + timeout:
                fired = (i, float(i), True)
            if fired is None:
                continue
            anchor = i
            next_allowed = i + hold
            if trig.mode == "single":
                armed = False
            if i + post <= end:
                frames.append((*fired, x[i - pre - start : i + post - start]))
    return frames


def feed(trig, chunks):
    for c in chunks:
        trig.update(c)
    return trig.take()


def assert_frames_equal(got, ref):
    assert [(f.trigger_index, f.forced) for f in got] == [(r[0], r[2]) for r in ref]
    for f, r in zip(got, ref, strict=True):
        assert f.trigger_time == r[1] / RATE
        assert f.start_index == r[0] - f.pre
        np.testing.assert_array_equal(f.data, r[3])


def two_channel(seed, n):
    x = make_signal(seed, n)
    return np.stack([np.arange(n, dtype=np.float64), x], axis=1)  # ch0 = sample index


TRIGGERS = {
    "edge_rising": lambda **k: EdgeTrigger(level=0.0, **k),
    "edge_falling_h": lambda **k: EdgeTrigger(level=0.25, slope="falling", hysteresis=0.5, **k),
    "edge_either": lambda **k: EdgeTrigger(level=0.0, slope="either", **k),
    "pulse_lt": lambda **k: PulseWidthTrigger(level=0.0, condition="<", width=0.008, **k),
    "pulse_gt_neg": lambda **k: PulseWidthTrigger(
        level=0.0, polarity="negative", condition=">", width=0.01, hysteresis=0.5, **k
    ),
    "pulse_inside": lambda **k: PulseWidthTrigger(
        level=0.0, polarity="either", condition="inside", min_width=0.003, max_width=0.02, **k
    ),
    "pulse_outside": lambda **k: PulseWidthTrigger(
        level=0.0, condition="outside", min_width=0.003, max_width=0.02, **k
    ),
    "glitch": lambda **k: GlitchTrigger(level=0.0, width=0.003, **k),
    "runt_pos": lambda **k: RuntTrigger(low=-0.5, high=0.75, **k),
    "runt_either": lambda **k: RuntTrigger(low=-0.5, high=0.75, polarity="either", **k),
    "window_enter": lambda **k: WindowTrigger(low=-0.5, high=0.5, **k),
    "window_exit": lambda **k: WindowTrigger(low=-0.25, high=1.0, condition="exit", **k),
}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(sorted(TRIGGERS)),
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(20, 1500),
    cuts=st.lists(st.integers(0, 1500), max_size=12),
    gaps=st.sets(st.integers(1, 12), max_size=2),
    pre=st.integers(0, 60),
    post=st.integers(1, 60),
    holdoff=st.sampled_from([0.0, 0.005, 0.031]),
    mode=st.sampled_from(["normal", "normal", "auto", "single"]),
)
def test_triggers_equal_offline_detection_under_chunking(
    kind, seed, n, cuts, gaps, pre, post, holdoff, mode
):
    x = two_channel(seed, n)
    common = {
        "pre": pre,
        "post": post,
        "holdoff": holdoff,
        "mode": mode,
        "auto_timeout": 0.037,
        "channel": 1,
        "max_frames": 10_000,
    }
    chunks, segs = chunks_from(x, cuts, gaps)
    got = feed(TRIGGERS[kind](**common), chunks)
    ref = ref_frames(TRIGGERS[kind](**common), segs)
    assert_frames_equal(got, ref)
    # and the whole signal in one chunk gives the same frames when there are no gaps
    if not gaps:
        whole = feed(TRIGGERS[kind](**common, sample_rate=RATE), [x])
        assert_frames_equal(whole, ref)


def test_each_trigger_kind_fires_on_the_test_signal():
    # guards the property test above against trivially empty references
    for kind, make in TRIGGERS.items():
        fired = [
            len(
                feed(
                    make(pre=5, post=5, channel=1, max_frames=10_000, sample_rate=RATE),
                    [two_channel(seed, 3000)],
                )
            )
            for seed in range(8)
        ]
        assert sum(f > 0 for f in fired) >= 4, (kind, fired)


# ---------------------------------------------------------------- capture
def test_pre_trigger_spans_several_earlier_chunks_and_post_spans_later_ones():
    n = 5000
    x = np.full(n, -1.0)
    x[3000:] = 1.0
    data = np.stack([x, np.arange(n, dtype=np.float64)], axis=1)
    trig = EdgeTrigger(level=0.0, pre=1234, post=777, sample_rate=RATE)
    for k in range(0, n, 100):  # 12+ chunks of pre-trigger history
        trig.update(data[k : k + 100])
        if k < 3700:
            assert trig.result.frames == ()
    (frame,) = trig.take()
    assert frame.trigger_index == 3000
    assert frame.trigger_time == 2999.5 / RATE
    assert frame.start_index == 3000 - 1234
    assert frame.data.shape == (1234 + 777, 2)
    np.testing.assert_array_equal(frame.data[:, 1], np.arange(3000 - 1234, 3000 + 777))
    assert frame.data[1234, 0] == 1.0
    assert frame.data[1233, 0] == -1.0


def test_no_trigger_before_pre_history_is_complete_and_gap_restarts_it():
    x = np.tile(np.r_[np.full(10, -1.0), np.full(10, 1.0)], 20)  # rising edges at 10, 30, ...
    trig = EdgeTrigger(level=0.0, pre=25, post=15, sample_rate=RATE)
    trig.update(WaveformTrace(x[:200], TraceMetadata(sample_rate=RATE, start_index=0)))
    # 10 has only 10 samples before it; 190 needs samples up to 204
    assert [f.trigger_index for f in trig.take()] == [30, 50, 70, 90, 110, 130, 150, 170]
    # 1000 samples lost: the frame of 190 (post incomplete) is abandoned, history restarts
    trig.update(WaveformTrace(x[200:], TraceMetadata(sample_rate=RATE, start_index=1200)))
    r = trig.result
    assert r.n_lost == 1
    # edge at 1210 (x[210]) has only 10 samples of history after the gap: not armed yet;
    # 1230 (x[230]) is the first with 25 samples since the gap
    assert [f.trigger_index for f in r.frames][:2] == [1230, 1250]


def test_holdoff_single_and_rearm():
    x = np.tile(np.r_[np.full(10, -1.0), np.full(10, 1.0)], 50)  # rising every 20 samples
    trig = EdgeTrigger(level=0.0, pre=0, post=1, holdoff=0.045, sample_rate=RATE)
    trig.update(x)
    # 45-sample holdoff: 10, then >= 55 -> 70, then >= 115 -> 130, ...
    assert [f.trigger_index for f in trig.take()][:4] == [10, 70, 130, 190]
    single = EdgeTrigger(level=0.0, pre=0, post=1, mode="single", sample_rate=RATE)
    single.update(x[:500])
    assert [f.trigger_index for f in single.take()] == [10]
    assert single.result.armed is False
    single.rearm()
    single.update(x[500:])
    assert [f.trigger_index for f in single.take()] == [510]


def test_auto_mode_forces_frames_when_nothing_triggers():
    trig = EdgeTrigger(level=10.0, pre=5, post=5, mode="auto", auto_timeout=0.1, sample_rate=RATE)
    x = np.zeros(1000)
    trig.update(x[:333])
    trig.update(x[333:])
    frames = trig.take()
    # armed at 5 (pre), then one forced frame every 100 samples
    assert [f.trigger_index for f in frames] == [105, 205, 305, 405, 505, 605, 705, 805, 905]
    assert all(f.forced for f in frames)
    assert all(f.trigger_time == f.trigger_index / RATE for f in frames)
    assert trig.result.n_forced == 9
    assert trig.result.n_triggers == 0


def test_queue_drops_oldest_and_counts():
    x = np.tile(np.r_[np.full(10, -1.0), np.full(10, 1.0)], 50)
    trig = EdgeTrigger(level=0.0, pre=0, post=1, max_frames=3, sample_rate=RATE)
    trig.update(x)
    r = trig.result
    assert r.n_frames == 50
    assert r.n_dropped == 47
    assert [f.trigger_index for f in r.frames] == [950, 970, 990]
    assert r.last_frame is r.frames[-1]
    assert trig.take()
    assert trig.result.frames == ()
    assert trig.result.last_frame is not None


def test_wall_clock_time_of_the_trigger():
    x = np.r_[np.full(50, -1.0), np.full(50, 1.0)]
    trig = EdgeTrigger(level=0.0, pre=10, post=10)
    meta = TraceMetadata(sample_rate=RATE, start_index=1000, start_time=1.7e9)
    trig.update(WaveformTrace(x, meta))
    (f,) = trig.take()
    assert f.trigger_index == 1050
    assert f.trigger_time == 1049.5 / RATE
    assert f.wall_time == 1.7e9 + 49.5 / RATE
    assert f["trigger_index"] == 1050
    assert isinstance(trig.result, TriggerResult)


def test_reset_restores_fresh_state():
    x = two_channel(11, 2000)
    trig = EdgeTrigger(level=0.0, pre=20, post=20, holdoff=0.01, channel=1, sample_rate=RATE)
    trig.update(x)
    first = [(f.trigger_index, f.trigger_time) for f in trig.take()]
    trig.reset()
    r = trig.result
    assert (r.n_triggers, r.n_frames, r.last_frame, r.armed) == (0, 0, None, True)
    trig.update(x)
    assert [(f.trigger_index, f.trigger_time) for f in trig.take()] == first


# ---------------------------------------------------------------- measurements
def test_frame_measurements_on_a_known_pulse():
    rate = 1e6
    y = np.zeros(200)
    y[50:60] = np.arange(1, 11) / 10  # 0 -> 1 linear over 10 samples
    y[60:120] = 1.0
    y[61] = 1.2  # overshoot 20 %
    y[120:125] = 1.0 - np.arange(1, 6) / 5  # 1 -> 0 over 5 samples
    trig = EdgeTrigger(level=0.5, pre=80, post=120, sample_rate=rate)
    trig.update(np.r_[np.zeros(100), y, np.zeros(100)])
    (f,) = trig.take()
    # y[54] == 0.5 is not above the level: the trigger sample is 155, the crossing 154.0
    assert (f.trigger_index, f.trigger_time) == (155, 154 / rate)
    assert f.amplitude == 1.0
    assert f.peak_to_peak == pytest.approx(1.2)
    assert f.rms == pytest.approx(np.sqrt(np.mean(f.data[:, 0] ** 2)), rel=1e-12)
    assert f.rise_time == pytest.approx(8 / rate, rel=1e-9)  # 10 % -> 90 % of a linear ramp
    assert f.fall_time == pytest.approx(4 / rate, rel=1e-9)
    assert f.overshoot == pytest.approx(20.0, rel=1e-9)
    assert f.pulse_width == pytest.approx((121.5 - 54) / rate, rel=1e-9)
    assert f.measurements["rise_time"] == f.rise_time


def test_measurements_are_nan_when_not_measurable():
    frame = TriggerFrame(
        trigger_index=5,
        trigger_time=0.005,
        wall_time=None,
        start_index=0,
        data=np.ones((10, 1)),
        forced=True,
        pre=5,
        trigger_position=5.0,
        sample_rate=RATE,
        channel=0,
    )
    assert frame.peak_to_peak == 0.0
    assert frame.rms == 1.0
    assert all(
        math.isnan(v)
        for v in (frame.rise_time, frame.fall_time, frame.pulse_width, frame.overshoot)
    )


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: EdgeTrigger(level=0, pre=6_000_000, post=5_000_000), "exceeds max_capture"),
        (lambda: EdgeTrigger(level=0, pre=10, post=10, max_capture=15), "max_capture=15"),
        (lambda: EdgeTrigger(level=0, hysteresis=-1), "hysteresis must be a finite number >= 0"),
        (lambda: EdgeTrigger(level=0, holdoff=-0.1), "holdoff must be a finite number >= 0"),
        (lambda: EdgeTrigger(level=0, slope="up"), "slope must be one of 'rising'"),
        (lambda: EdgeTrigger(level=0, mode="free"), "mode must be one of 'auto'"),
        (lambda: EdgeTrigger(level=0, pre=-1), "pre must be an integer >= 0"),
        (lambda: EdgeTrigger(level=float("inf")), "level must be a finite number"),
        (lambda: PulseWidthTrigger(level=0, condition="inside", width=1e-3), "min_width="),
        (lambda: PulseWidthTrigger(level=0, condition="<"), "takes width="),
        (
            lambda: PulseWidthTrigger(level=0, condition="outside", min_width=2, max_width=1),
            "min_width must be < max_width",
        ),
        (lambda: RuntTrigger(low=1.0, high=0.5), "low must be < high"),
        (lambda: WindowTrigger(low=0, high=1, condition="inside"), "condition must be one of"),
    ],
)
def test_bad_parameters_raise_clear_errors(make, message):
    with pytest.raises(ConfigurationError, match=message):
        make()


# ---------------------------------------------------------------- attached to a stream
def test_triggers_on_a_real_stream():
    src = square_1khz(100_000, 7_000)
    cfg = RealtimeConfig(sample_rate=1e6, chunk_size=8192, buffer_size=100_000, overflow="block")
    edge = EdgeTrigger(level=0.0, pre=200, post=600, max_frames=1000)
    counter = FrequencyCounter(level=0.0, hysteresis=0.5)
    frames = []
    with RealtimeStream(cfg, src, analyzers=[edge, counter]) as stream:
        for chunk in stream:
            frames += chunk.results["edge_trigger"].frames
            edge.take()
    # square starts high: rising edges at 1000, 2000, ... (sample 99_000 is the last)
    assert [f.trigger_index for f in frames] == list(range(1000, 100_000, 1000))
    assert all(f.trigger_time == (f.trigger_index - 0.5) / 1e6 for f in frames)
    assert frames[0].data.shape == (800, 1)
    assert frames[3].rise_time == pytest.approx(0.8e-6, rel=1e-9)  # 10-90 % of a 1-sample step
    assert frames[3].wall_time is not None
    assert stream.get_results()["frequency"].frequency == pytest.approx(1000.0, rel=1e-9)
