"""The terminal dashboard: min/max columns, sparkline, snapshot numbers, rich rendering."""

from __future__ import annotations

import itertools
import math

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
from livetrace._dashboard import (
    DASH,
    Monitor,
    format_number,
    format_rate,
    minmax_columns,
    render,
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


def _square_stream() -> tuple[RealtimeStream, SimulatedSource]:
    # 50 Hz square, amplitude 2, offset 0.5, 10 kHz: the 1000-sample window holds 5 periods
    src = SimulatedSource(
        "square",
        frequency=50.0,
        amplitude=2.0,
        offset=0.5,
        sample_rate=10_000.0,
        chunk_size=250,
        n_samples=20_000,
        realtime=False,
    )
    stream = RealtimeStream.from_source(
        src, chunk_size=250, window_size=1000, overflow="block", units=("V",)
    )
    return stream, src


def test_monitor_numbers_match_the_stream_and_numpy() -> None:
    stream, _ = _square_stream()
    mon = Monitor(stream, window=1000)
    mon.start()
    assert mon.wait(30)
    mon.stop()
    assert mon.error is None
    snap = mon.snapshot()
    stats = stream.get_statistics()
    (ch,) = snap.channels
    x = SimulatedSource(
        "square",
        frequency=50.0,
        amplitude=2.0,
        offset=0.5,
        sample_rate=10_000.0,
        realtime=False,
    ).generate(0, 20_000)[-1000:]
    for name, ref in (
        ("mean", x.mean()),
        ("rms", np.sqrt(np.mean(x * x))),
        ("min", x.min()),
        ("max", x.max()),
    ):
        assert getattr(ch, name) == pytest.approx(float(stats[name]), rel=1e-12, abs=1e-12)
        assert getattr(ch, name) == pytest.approx(ref, rel=1e-12)
    assert ch.peak_to_peak == pytest.approx(4.0)
    assert ch.n_samples == 1000
    np.testing.assert_array_equal(ch.samples, x)  # the sparkline shows the last window
    assert ch.frequency == pytest.approx(50.0, rel=1e-9)
    assert ch.peak_frequency == pytest.approx(50.0, rel=0.01)
    d = snap.to_dict()
    assert d["samples_out"] == 20_000
    assert d["dropped"] == 0
    assert d["state"] == "finished"
    assert d["channels"][0]["mean"] == pytest.approx(0.5)


def test_render_on_a_recorded_console() -> None:
    stream, _ = _square_stream()
    mon = Monitor(stream, window=1000)
    mon.start()
    assert mon.wait(30)
    mon.stop()
    snap = mon.snapshot()
    console = Console(record=True, width=110, color_system=None)
    console.print(render(snap, width=110, height=3))
    text = console.export_text()
    lines = text.splitlines()
    assert lines[0].startswith("╭─ livetrace · sim:square?frequency=50")
    assert "window 1000" in lines[0]
    assert "finished" in text
    assert "dropped 0" in text
    assert "source errors 0" in text
    assert "buffer 0% (0/" in text
    stats = stream.get_statistics()
    line = next(ln for ln in lines if "ch0 [V]" in ln)
    assert f"mean {format_number(stats.mean)} " in line
    assert "mean 0.5 " in line
    assert "rms 2.06155 " in line
    assert "min -1.5 " in line
    assert "max 2.5 " in line
    assert "p-p 4 " in line
    assert "freq 50 Hz" in line
    # the sparkline: 3 rows under the channel line, a square wave's envelope: full columns
    # during an edge, half blocks at the high and low levels
    i = lines.index(line)
    spark = [ln[2:-2] for ln in lines[i + 1 : i + 4]]
    assert all(len(r) == 106 for r in spark)
    assert set("".join(spark)) <= set(" ▀▄█")
    assert any("▀" in r for r in spark[:1])
    assert any("▄" in r for r in spark[2:])


class Broken(RealtimeSource):
    @property
    def info(self) -> SourceInfo:
        return SourceInfo(sample_rate=100.0, description="broken")

    def acquire(self) -> None:
        raise OSError("device unplugged")


def test_monitor_reports_source_failure() -> None:
    stream = RealtimeStream.from_source(Broken(), retry=RetryPolicy(max_retries=1, backoff=0.001))
    mon = Monitor(stream, window=10)
    mon.start()
    assert mon.wait(10)
    mon.stop()
    assert isinstance(mon.error, SourceError)
    snap = mon.snapshot()
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


def test_monitor_shows_a_complex_stream() -> None:
    # a complex tone at -100 Hz: the counter measures the real part (100 Hz, gates of 0.5 s),
    # the two-sided spectrum gives the signed peak, the statistics are the stream's (|x|)
    n, rate, f0 = 8000, 8000.0, -100.0
    x = (1.5 * np.exp(2j * np.pi * f0 * np.arange(n) / rate)).astype(np.complex64)
    src = ArraySource(x, sample_rate=rate)
    stream = RealtimeStream.from_source(src, chunk_size=500, window_size=800, overflow="block")
    mon = Monitor(stream, window=800)
    mon.start()
    assert mon.wait(30)
    mon.stop()
    assert mon.error is None
    (ch,) = mon.snapshot().channels
    stats = stream.get_statistics()
    assert ch.mean == pytest.approx(abs(complex(stats.mean)), abs=1e-12)
    assert ch.mean < 1e-3  # whole periods in the window: the mean is ~0
    assert ch.rms == pytest.approx(1.5, rel=1e-6)
    assert ch.min == pytest.approx(1.5, rel=1e-6)
    assert ch.frequency == pytest.approx(100.0, rel=1e-6)
    assert ch.peak_frequency == pytest.approx(-100.0, rel=1e-3)
    np.testing.assert_array_equal(ch.samples, x.real[-800:].astype(np.float64))
    d = mon.snapshot().to_dict()
    assert d["channels"][0]["frequency"] == pytest.approx(100.0, rel=1e-6)
