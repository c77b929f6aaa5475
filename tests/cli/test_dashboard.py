"""The terminal dashboard: min/max columns, sparkline, the LiveView analyser on a stream
(triggered trace, window from the frequency), snapshot numbers, rich rendering."""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from rich.console import Console

from livetrace import (
    RealtimeSource,
    RealtimeStream,
    RetryPolicy,
    SimulatedSource,
    SourceError,
    SourceInfo,
)
from livetrace._cli.dashboard import (
    DASH,
    LiveView,
    Snapshot,
    format_number,
    format_rate,
    format_seconds,
    minmax_columns,
    render,
    snapshot,
    sparkline,
)
from livetrace.sources import ArraySource


@settings(max_examples=100, deadline=None)
@given(
    x=arrays(np.float64, st.integers(1, 400), elements=st.floats(-1e6, 1e6)),
    n_cols=st.integers(1, 120),
)
def test_minmax_columns_match_a_reference(x: np.ndarray, n_cols: int) -> None:
    lo, hi = minmax_columns(x, n_cols)
    if len(x) <= n_cols:
        np.testing.assert_array_equal(lo, x)
        np.testing.assert_array_equal(hi, x)
        return
    edges = [(j * len(x)) // n_cols for j in range(n_cols + 1)]
    ref_lo = [x[a:b].min() for a, b in itertools.pairwise(edges)]
    ref_hi = [x[a:b].max() for a, b in itertools.pairwise(edges)]
    np.testing.assert_array_equal(lo, ref_lo)
    np.testing.assert_array_equal(hi, ref_hi)
    assert lo.min() == x.min()
    assert hi.max() == x.max()


def test_sparkline_levels() -> None:
    lo = np.array([0.0, 0.0, 0.5, 0.99, np.nan, 0.0])
    hi = np.array([0.0, 1.0, 0.74, 0.99, np.nan, 0.49])
    rows = sparkline(lo, hi, 0.0, 1.0, height=2)  # 4 levels: [0,.25) [.25,.5) [.5,.75) [.75,1]
    assert rows == [" █▄▀  ", "▄█   █"]
    assert sparkline(np.array([]), np.array([]), 0, 1, 3) == ["", "", ""]
    flat = sparkline(np.full(4, 2.0), np.full(4, 2.0), 2.0, 2.0, height=1)
    assert flat == ["▀▀▀▀"]  # a constant signal is drawn mid-height, not lost


def test_formatting() -> None:
    assert format_number(float("nan")) == DASH
    assert format_number(None) == DASH
    assert format_number(2.0615528128088303) == "2.06155"
    assert format_rate(48000.0) == "48 kS/s"
    assert format_rate(1.5e6, "Hz") == "1.5 MHz"
    assert format_rate(12.0) == "12 S/s"
    assert format_seconds(0.003) == "3 ms"
    assert format_seconds(0.1) == "100 ms"
    assert format_seconds(2.5) == "2.5 s"
    assert format_seconds(2e-6) == "2 µs"


def _square(n: int = 20_000, **kw: float) -> SimulatedSource:
    # 50 Hz square, amplitude 2, offset 0.5, 10 kHz: 200 samples per period
    return SimulatedSource(
        "square",
        frequency=50.0,
        amplitude=2.0,
        offset=0.5,
        sample_rate=10_000.0,
        chunk_size=250,
        n_samples=n,
        realtime=False,
        **kw,
    )


def _run_view(
    src: SimulatedSource | ArraySource, view: LiveView, **config: object
) -> tuple[RealtimeStream, Snapshot]:
    stream = RealtimeStream.from_source(src, analyzers=[view], overflow="block", **config)
    with stream:
        stream.run()
    return stream, snapshot(stream, view, t0=0.0)


def test_live_view_numbers_match_the_stream_and_numpy() -> None:
    view = LiveView()
    stream, snap = _run_view(_square(), view, chunk_size=250, window_size=1000, units=("V",))
    stats = stream.get_statistics()
    (ch,) = snap.channels
    x = _square().generate(0, 20_000)
    w = x[-1000:]
    for name, ref in (
        ("mean", w.mean()),
        ("rms", np.sqrt(np.mean(w * w))),
        ("min", w.min()),
        ("max", w.max()),
    ):
        assert getattr(ch, name) == pytest.approx(float(stats[name]), rel=1e-12, abs=1e-12)
        assert getattr(ch, name) == pytest.approx(ref, rel=1e-12)
    assert ch.peak_to_peak == pytest.approx(4.0)
    assert ch.n_samples == 1000
    assert snap.stats_window == pytest.approx(0.1)
    assert ch.frequency == pytest.approx(50.0, rel=1e-9)
    assert ch.peak_frequency is None  # the spectrum was not enabled
    # the window: 3 periods of the measured 50 Hz, a frame around a rising edge at level 0.5
    assert snap.window == pytest.approx(0.06)
    res = view.result
    assert res is not None
    assert res.triggered
    assert (snap.level, snap.slope) == (0.5, "rising")
    assert len(res.samples) == 600
    np.testing.assert_array_equal(res.samples[:, 0], x[res.trace_start : res.trace_start + 600])
    assert res.trigger_index == res.trace_start + 300
    assert x[res.trigger_index - 1] < 0.5 < x[res.trigger_index]
    np.testing.assert_array_equal(ch.samples, res.samples[:, 0])
    d = snap.to_dict()
    assert d["samples_out"] == 20_000
    assert d["dropped"] == 0
    assert d["state"] == "finished"
    assert d["window"] == pytest.approx(0.06)
    assert d["trigger"] == {"triggered": True, "level": 0.5, "slope": "rising"}
    assert d["channels"][0]["mean"] == pytest.approx(0.5)


def test_the_trace_stands_still_however_the_chunks_fall() -> None:
    """A 1 kHz sine at 48 kHz: once triggered, every published trace starts at the same
    phase (its start is a whole number of periods from the others) and holds the same
    samples, although the chunks (1000 samples) are not a multiple of the period (48)."""
    src = SimulatedSource(
        "sine", frequency=1e3, sample_rate=48_000, n_samples=96_000, realtime=False
    )
    view = LiveView()
    starts: list[int] = []
    traces: list[np.ndarray] = []

    def seen(chunk: object) -> None:
        res = view.result
        if res is not None and res.triggered and res.window == pytest.approx(0.003):
            starts.append(res.trace_start)
            traces.append(res.samples[:, 0])

    stream = RealtimeStream.from_source(
        src, analyzers=[view], on_chunk=seen, chunk_size=1000, overflow="block"
    )
    with stream:
        stream.run()
    assert len(starts) > 40  # from about 0.5 s (the first frequency gate) to 2 s
    assert {s % 48 for s in starts} == {starts[0] % 48}
    assert len(set(starts)) > 20  # new frames, not one frame shown again
    for trace in traces:
        np.testing.assert_allclose(trace, traces[0], atol=1e-9)
    assert len(traces[0]) == 144  # 3 periods


def test_window_option_wins_and_the_trigger_can_be_off() -> None:
    view = LiveView(window=0.01, slope=None)
    _, snap = _run_view(_square(), view, chunk_size=250)
    res = view.result
    assert res is not None
    assert snap.window == pytest.approx(0.01)
    assert not res.triggered
    assert snap.slope is None
    x = _square().generate(0, 20_000)
    np.testing.assert_array_equal(res.samples[:, 0], x[-100:])  # the latest 10 ms
    falling = LiveView(window=0.01, slope="falling", level=1.0)
    _run_view(_square(), falling, chunk_size=250)
    res = falling.result
    assert res is not None
    assert res.triggered
    assert (res.level, res.slope) == (1.0, "falling")
    assert x[res.trigger_index - 1] > 1.0 > x[res.trigger_index]


def test_spectrum_is_enabled_on_demand() -> None:
    view = LiveView()
    stream = RealtimeStream.from_source(_square(), analyzers=[view], overflow="block")
    view.enable_spectrum(background=False)
    with stream:
        stream.run()
    (ch,) = snapshot(stream, view, t0=0.0).channels
    assert ch.peak_frequency == pytest.approx(50.0, rel=0.01)


def test_render_on_a_recorded_console_fits_80_columns() -> None:
    view = LiveView()
    _, snap = _run_view(_square(), view, chunk_size=250, window_size=1000, units=("V",))
    console = Console(record=True, width=80, color_system=None)
    console.print(render(snap, width=80, height=3))
    text = console.export_text()
    lines = text.splitlines()
    assert all(len(ln) <= 80 for ln in lines)
    assert lines[0].startswith("╭─ livetrace · sim:square")
    assert "window 60 ms · trig ↑0.5 · " in lines[-1]
    assert "finished" in text
    assert "dropped 0" in text
    assert "source errors 0" in text
    assert "buffer 0%" in text
    body = " ".join(ln[2:-2].strip() for ln in lines)
    assert "ch0 [V]" in body
    assert "mean 0.5 " in body
    assert "rms 2.06155 " in body
    assert "min -1.5 " in body
    assert "max 2.5 " in body
    assert "p-p 4 " in body
    assert "freq 50 Hz" in body
    # the trace: 3 rows, 3 periods of a square wave: high and low runs joined by full columns
    spark = [ln[2:-2] for ln in lines[-4:-1]]
    assert lines[-1].startswith("╰")
    assert all(len(r) == 76 for r in spark)
    assert set("".join(spark)) <= set(" ▀▄█")
    assert spark[0].count("▀") > 30  # the high level, 3 half periods
    assert spark[-1].count("▄") > 30  # the low level
    assert "█" in "".join(spark)  # the edges


class Broken(RealtimeSource):
    @property
    def info(self) -> SourceInfo:
        return SourceInfo(sample_rate=100.0, description="broken")

    def acquire(self) -> None:
        raise OSError("device unplugged")


def test_snapshot_reports_source_failure() -> None:
    view = LiveView()
    stream = RealtimeStream.from_source(
        Broken(), analyzers=[view], retry=RetryPolicy(max_retries=1, backoff=0.001)
    )
    with stream, pytest.raises(SourceError) as err:
        stream.run()
    snap = snapshot(stream, view, t0=0.0, error=err.value)
    assert snap.health.source_errors == 2
    assert snap.error is not None
    assert "device unplugged" in snap.error
    assert math.isnan(snap.channels[0].mean)
    text_console = Console(record=True, width=100, color_system=None)
    text_console.print(render(snap, width=100))
    text = text_console.export_text()
    assert "source errors 2" in text
    assert "device unplugged" in text
    assert "mean —" in text


def test_live_view_shows_a_complex_stream() -> None:
    # a complex tone at -100 Hz: the counter measures the real part (100 Hz, gates of 0.5 s),
    # the two-sided spectrum gives the signed peak, the statistics are the stream's (|x|)
    n, rate, f0 = 8000, 8000.0, -100.0
    x = (1.5 * np.exp(2j * np.pi * f0 * np.arange(n) / rate)).astype(np.complex64)
    view = LiveView(window=0.1, slope=None)
    view_stream = RealtimeStream.from_source(
        ArraySource(x, sample_rate=rate), analyzers=[view], chunk_size=500, window_size=800
    )
    view.enable_spectrum(background=False)
    with view_stream:
        view_stream.run()
    (ch,) = snapshot(view_stream, view, t0=0.0).channels
    stats = view_stream.get_statistics()
    assert ch.mean == pytest.approx(abs(complex(stats.mean)), abs=1e-12)
    assert ch.mean < 1e-3  # whole periods in the window: the mean is ~0
    assert ch.rms == pytest.approx(1.5, rel=1e-6)
    assert ch.min == pytest.approx(1.5, rel=1e-6)
    assert ch.frequency == pytest.approx(100.0, rel=1e-6)
    assert ch.peak_frequency == pytest.approx(-100.0, rel=1e-3)
    np.testing.assert_array_equal(ch.samples, x.real[-800:].astype(np.float64))


def test_a_silent_source_is_shown_on_the_status_line() -> None:
    from livetrace.testing import BlockingSource

    view = LiveView()
    src = BlockingSource()
    stream = RealtimeStream.from_source(src, analyzers=[view])
    with stream:
        assert src.entered.wait(10)
        deadline = time.monotonic() + 10
        while stream.health().idle_seconds < 2.2 and time.monotonic() < deadline:
            time.sleep(0.05)
        snap = snapshot(stream, view, t0=0.0)
    console = Console(record=True, width=80, color_system=None)
    console.print(render(snap, width=80))
    text = console.export_text()
    assert "silent 2 s" in text
    assert snap.to_dict()["idle_seconds"] >= 2.0
