"""The scope page in a real headless Chromium: what is drawn is checked from the pixels.

Needs Debian's ``chromium`` and the ``playwright`` Python package (``scripts/install-test-deps``
installs both; the browser is never downloaded by Playwright). Screenshots are kept in
``tests/artifacts/``.
"""

from __future__ import annotations

import base64
import io
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from livetrace import RealtimeStream, SimulatedSource, SourceInfo, TraceMetadata, WaveformTrace
from livetrace.web import Scope

pytest.importorskip("aiohttp")
sync_api = pytest.importorskip("playwright.sync_api")
Image = pytest.importorskip("PIL.Image")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
TRACE = np.array([0xFF, 0xD0, 0x00])  # channel 0's colour on the page
RATE = 100_000.0
VDIV = 0.5  # the page's default V/div
DIVS, VDIVS = 10, 8


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    pg = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    pg.close()
    assert errors == []


def open_scope(page: Any, url: str, view: dict[str, Any]) -> None:
    page.goto(url)
    page.wait_for_function("window.livetraceScope && window.livetraceScope.client !== null")
    page.wait_for_function("window.livetraceScope.status && window.livetraceScope.status.stream")
    page.evaluate("v => window.livetraceScope.setView(v)", view)


def wait_frames(page: Any, n: int) -> None:
    start = page.evaluate("window.livetraceScope.frames")
    page.wait_for_function(f"window.livetraceScope.frames >= {start + n}", timeout=20_000)


def trace_rows(page: Any, name: str) -> tuple[np.ndarray, dict[str, float]]:
    """Screenshot the plot area; per pixel column, the mean row of the trace's colour (NaN
    where the column has none), and the plot rectangle."""
    rect = page.evaluate("window.livetraceScope.plotRect()")
    png = page.screenshot(full_page=False)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"{name}.png").write_bytes(png)
    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    x0, y0 = round(rect["left"]), round(rect["top"])
    w, h = round(rect["width"]), round(rect["height"])
    area = img[y0 : y0 + h, x0 : x0 + w]
    hit = np.abs(area - TRACE).sum(axis=2) < 120
    rows = np.arange(h)[:, None]
    count = hit.sum(axis=0)
    with np.errstate(invalid="ignore"):
        centre = np.where(count > 0, (hit * rows).sum(axis=0) / np.maximum(count, 1), np.nan)
    return centre, rect


def volts(rows: np.ndarray, height: float) -> np.ndarray:
    return (VDIVS / 2 - rows / height * VDIVS) * VDIV


def rising_zero_columns(v: np.ndarray) -> np.ndarray:
    ok = np.isfinite(v[:-1]) & np.isfinite(v[1:])
    k = np.flatnonzero(ok & (v[:-1] < 0) & (v[1:] >= 0))
    return k + v[k] / (v[k] - v[k + 1])  # interpolated column of the crossing


@pytest.fixture
def sine_stream() -> Iterator[tuple[RealtimeStream, Scope]]:
    # two channels: a sine (drawn yellow, checked below) and the same sine 90 degrees later
    src = SimulatedSource("sine", frequency=1e3, sample_rate=RATE, chunk_size=1000, n_channels=2)
    stream = RealtimeStream.from_source(src)
    scope = stream.add_sink(Scope(port=0, health=stream.health))
    thread = threading.Thread(target=stream.run, name="test-consumer")
    stream.start()
    thread.start()
    try:
        yield stream, scope
    finally:
        stream.stop()
        thread.join(timeout=10)
        assert not thread.is_alive()


def test_sine_is_drawn_with_its_period_amplitude_frequency_and_a_still_phase(
    page: Any, sine_stream: tuple[RealtimeStream, Scope]
) -> None:
    _, scope = sine_stream
    tdiv = 5e-4  # 5 ms on screen: 5 periods
    open_scope(page, scope.url, {"time_per_div": tdiv, "level": 0.0, "slope": "rising"})
    wait_frames(page, 10)
    page.wait_for_function(
        "document.querySelector('td[data-key=frequency][data-ch=\"0\"]') &&"
        " /Hz/.test(document.querySelector('td[data-key=frequency][data-ch=\"0\"]').textContent)"
    )
    page.wait_for_timeout(300)
    rows1, rect = trace_rows(page, "scope-sine")
    assert page.evaluate("window.livetraceScope.lastFrame.flags") & 1  # triggered
    w, h = rect["width"], rect["height"]
    v1 = volts(rows1, h)
    assert np.isfinite(v1).mean() > 0.95  # a trace in (nearly) every column
    # amplitude: the trace spans +-1 V (2 divisions of 0.5 V each way)
    assert np.nanmax(v1) == pytest.approx(1.0, abs=0.05)
    assert np.nanmin(v1) == pytest.approx(-1.0, abs=0.05)
    # period: distance between rising zero crossings, in pixels, to seconds
    zc = rising_zero_columns(v1)
    assert len(zc) >= 4
    period = np.median(np.diff(zc)) * DIVS * tdiv / w
    assert period == pytest.approx(1e-3, rel=0.02)
    # the trigger point (pre-trigger 50 %: mid-screen) is a rising zero crossing
    assert np.min(np.abs(zc - w / 2)) < 3
    # the measured frequency shown on the page
    text = page.inner_text('td[data-key=frequency][data-ch="0"]')
    value, prefix = re.match(r"([\d.]+) (k?)Hz", text).groups()
    assert float(value) * (1e3 if prefix else 1) == pytest.approx(1000.0, rel=1e-3)
    # the trigger holds the phase: a later frame draws the same picture
    wait_frames(page, 10)
    rows2, _ = trace_rows(page, "scope-sine-later")
    v2 = volts(rows2, h)
    both = np.isfinite(v1) & np.isfinite(v2)
    assert both.mean() > 0.9
    assert np.max(np.abs(v1[both] - v2[both])) < 0.08
    # "PNG" saves what is on screen
    png = page.evaluate("window.livetraceScope.pngDataURL()")
    assert png.startswith("data:image/png;base64,")
    saved = Image.open(io.BytesIO(base64.b64decode(png.split(",", 1)[1])))
    assert saved.width >= w
    # the honesty bar shows a clean stream
    assert page.inner_text("#h-dropped") == "0"
    assert page.inner_text("#h-state") == "running"
    # the frequency view: a spectrum with its peak at 1 kHz, ADC figures in the table
    page.check("#freq")
    page.wait_for_function("window.livetraceScope.spectra >= 3", timeout=20_000)
    page.wait_for_function(
        "document.querySelector('td[data-key=snr][data-ch=\"0\"]') &&"
        " /dB/.test(document.querySelector('td[data-key=snr][data-ch=\"0\"]').textContent)",
        timeout=20_000,
    )
    page.wait_for_timeout(1500)  # a few waterfall rows
    page.screenshot(path=str(ARTIFACTS / "scope.png"), full_page=True)  # docs/images/scope.png
    peak = page.evaluate("window.livetraceScope.status.measurements[0].peak_frequency")
    assert peak == pytest.approx(1000.0, rel=1e-3)


def test_a_gap_is_drawn_as_a_break(page: Any) -> None:
    scope = Scope(port=0)
    scope.open(SourceInfo(sample_rate=RATE, dtype="float32", n_channels=1))
    try:
        idx = np.arange(60_000)
        x = np.sin(2 * np.pi * 1e3 * idx / RATE).astype(np.float32)
        # [0, 59 500) then 200 samples lost, then [59 700, 60 000)
        for k in range(0, 59_500, 500):
            meta = TraceMetadata(sample_rate=RATE, start_index=k)
            scope.write(WaveformTrace(x[k : k + 500], meta))
        meta = TraceMetadata(sample_rate=RATE, start_index=59_700, gap=200, discontinuity=True)
        scope.write(WaveformTrace(x[59_700:60_000], meta))
        # no trigger at 9 V: free-running, the newest sample at the right edge
        open_scope(page, scope.url, {"time_per_div": 1e-3, "level": 9.0})
        page.wait_for_function(
            "window.livetraceScope.lastFrame && window.livetraceScope.lastFrame.gaps.length == 1"
        )
        page.wait_for_timeout(300)
        rows, rect = trace_rows(page, "scope-gap")
        w = rect["width"]
        end = page.evaluate("window.livetraceScope.lastFrame.end")
        # x = right edge + (index - end) / rate; the screen is 10 ms = 1000 samples wide
        col = lambda i: w + (i - end) / RATE / (DIVS * 1e-3) * w  # noqa: E731
        gap_cols = np.arange(int(col(59_500)) + 3, int(col(59_700)) - 2)
        assert len(gap_cols) > 100
        assert np.isnan(rows[gap_cols]).all()  # nothing drawn across the gap
        left = np.arange(5, int(col(59_500)) - 3)
        right = np.arange(int(col(59_700)) + 3, int(w) - 5)
        assert np.isfinite(rows[left]).mean() > 0.95
        assert np.isfinite(rows[right]).mean() > 0.95
        assert page.inner_text("#h-gaps") == "1"
        assert page.get_attribute("#h-gaps", "class") == "bad"
    finally:
        scope.close()


def test_controls_autoscale_cursors_run_stop_and_save(
    page: Any, sine_stream: tuple[RealtimeStream, Scope], tmp_path: Path
) -> None:
    _, scope = sine_stream
    open_scope(page, scope.url, {"time_per_div": 1e-2})
    wait_frames(page, 3)
    page.wait_for_function(
        "window.livetraceScope.status.measurements.length &&"
        " window.livetraceScope.status.measurements[0].peak_to_peak > 1.9"
    )
    page.click("#autoscale")  # 3 periods on screen, the sine over about 6 divisions
    page.wait_for_function("window.livetraceScope.view.time_per_div === 5e-4")
    assert page.input_value("#tdiv") == "0.0005"
    assert page.input_value("#channels [data-k=vdiv]") == "0.5"
    wait_frames(page, 3)
    # cursors: two clicks on the trace area, 2 divisions apart -> 1 ms, 1 kHz
    rect = page.evaluate("window.livetraceScope.plotRect()")
    y = rect["top"] + rect["height"] / 2
    page.mouse.click(rect["left"] + rect["width"] * 0.3, y)
    page.mouse.click(rect["left"] + rect["width"] * 0.5, y)
    readout = page.inner_text("#cursor-readout")
    dt = re.search(r"Δt ([\d.]+) ms", readout)
    assert dt, readout
    assert float(dt.group(1)) == pytest.approx(1.0, rel=0.01), readout
    assert "1/Δt" in readout
    assert "ΔV" in readout
    # stop freezes this view; run resumes it
    page.click("#run")
    page.wait_for_function("window.livetraceScope.status.client.running === false")
    frozen = page.evaluate("window.livetraceScope.frames")
    page.wait_for_timeout(400)
    assert page.evaluate("window.livetraceScope.frames") == frozen
    # the raw samples of the frame on screen
    with page.expect_download() as dl:
        page.click("#save-npy")
    path = tmp_path / "frame.npy"
    dl.value.save_as(path)
    raw = np.load(path)
    last = page.evaluate("window.livetraceScope.lastFrame")
    assert raw.shape == (last["n"] * last["bucket"], 2)
    t = (last["first"] + np.arange(raw.shape[0])) / RATE
    np.testing.assert_allclose(raw[:, 0], np.sin(2 * np.pi * 1e3 * t), atol=1e-9)
    page.click("#run")
    page.wait_for_function(f"window.livetraceScope.frames > {frozen}")
