"""The clock map: drift measured, one-sided arrival jitter removed, segments at every break."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

from livetrace import (
    Block,
    ClockMap,
    EndOfStream,
    RealtimeSource,
    RealtimeStream,
    SourceInfo,
)

RATE = 48_000.0
PPM = 100e-6  # the device's crystal runs 100 ppm fast
TRUE_RATE = RATE * (1 + PPM)
T0 = 1.7e9
BLOCK = 480  # 10 ms blocks


def simulate_host(seconds: float, mean_delay: float, seed: int = 1) -> tuple[np.ndarray, float]:
    """Feed a host-clock map 10 ms blocks that arrive after exponential delays; return, for
    each block, the error of the time the map gives its first sample right after it
    arrived (what a chunk's start_time is), and the error of t0 + i / rate at the end."""
    rng = np.random.default_rng(seed)
    clock = ClockMap(RATE, T0 + 0.01, kind="host")
    errors = []
    for k in range(int(seconds * RATE / BLOCK)):
        first = k * BLOCK
        arrival = T0 + (first + BLOCK) / TRUE_RATE + rng.exponential(mean_delay)
        clock.add(first + BLOCK, arrival)
        errors.append(clock.time_of(first) - (T0 + first / TRUE_RATE))
    end = seconds * RATE
    nominal = abs((T0 + end / RATE) - (T0 + end / TRUE_RATE))
    return np.asarray(errors), nominal


@pytest.mark.parametrize("mean_delay", [0.001, 0.005])
def test_a_drifting_device_seen_through_jittery_arrivals_is_timed_within_1_ms(
    mean_delay: float,
) -> None:
    errors, nominal = simulate_host(60.0, mean_delay)
    t = np.arange(len(errors)) * BLOCK / RATE
    settled = np.abs(errors[t >= 5.0])
    converged = (
        t[np.flatnonzero(np.abs(errors) > 1e-3).max() + 1] if (np.abs(errors) > 1e-3).any() else 0.0
    )
    print(
        f"\nmean arrival delay {mean_delay * 1e3:.0f} ms: clock map error after 5 s "
        f"max {settled.max() * 1e3:.3f} ms, at 60 s {abs(errors[-1]) * 1e3:.3f} ms "
        f"(within 1 ms from {converged:.2f} s on); t0 + i/rate error at 60 s "
        f"{nominal * 1e3:.2f} ms"
    )
    assert nominal == pytest.approx(6e-3, rel=0.01)
    assert settled.max() < 1e-3
    assert converged < 5.0


def test_the_fitted_rate_is_the_actual_rate() -> None:
    clock = ClockMap(RATE, T0, kind="host")
    rng = np.random.default_rng(2)
    for k in range(1, 3000):
        clock.add(k * BLOCK, T0 + k * BLOCK / TRUE_RATE + rng.exponential(0.002))
    assert clock.current().rate == pytest.approx(TRUE_RATE, abs=0.5)  # 48004.8 Hz, +-10 ppm
    assert clock.current().uncertainty < 1e-3


def test_gaps_discontinuities_and_resets_start_new_segments() -> None:
    clock = ClockMap(RATE, T0, kind="device")
    for k in range(10):
        clock.add(k * BLOCK, T0 + k * BLOCK / TRUE_RATE)
    clock.break_segment(20 * BLOCK, "gap")
    clock.add(20 * BLOCK, T0 + 100.0)  # after the gap the device says where it is
    clock.add(21 * BLOCK, T0 + 100.0 + BLOCK / TRUE_RATE)
    clock.add(22 * BLOCK, T0 + 50.0)  # a clock reset: far from the line
    segs = clock.segments()
    assert [s.reason for s in segs] == ["start", "gap", "reset"]
    assert [s.start_index for s in segs] == [0, 20 * BLOCK, 22 * BLOCK]
    assert segs[0].rate == pytest.approx(TRUE_RATE, abs=0.05)  # float64 POSIX times: ~0.1 us
    assert clock.time_of(20 * BLOCK) == pytest.approx(T0 + 100.0, abs=1e-9)
    assert clock.time_of(5 * BLOCK) == pytest.approx(T0 + 5 * BLOCK / TRUE_RATE, abs=1e-6)


def test_a_sender_faster_than_real_time_keeps_the_nominal_rate() -> None:
    clock = ClockMap(RATE, T0, kind="host")
    for k in range(1, 500):  # blocks arriving 100 x faster than their rate
        clock.add(k * BLOCK, T0 + k * BLOCK / RATE / 100)
    assert clock.current().rate == RATE
    assert clock.time_of(48_000) == pytest.approx(clock.time_of(0) + 1.0)


def test_nominal_clocks_are_positions() -> None:
    clock = ClockMap(1000.0, 5.0)
    clock.add(10, 123.0)  # ignored: positions define the time
    assert clock.time_of(500) == 5.5
    assert clock.segments()[0].pairs == 0


class DriftingDevice(RealtimeSource):
    """A device whose crystal runs 100 ppm fast and stamps its blocks (with 50 us jitter),
    with a gap of 4800 samples after 2 s."""

    def __init__(self, seconds: float) -> None:
        self.k = 0
        self.n_blocks = int(seconds * RATE / BLOCK)
        self.rng = np.random.default_rng(3)
        self._stop = threading.Event()

    @property
    def info(self) -> SourceInfo:
        return SourceInfo(sample_rate=RATE, clock="device", finite=True, description="dev")

    def acquire(self) -> Any:
        if self.k >= self.n_blocks:
            raise EndOfStream("done")
        first = self.k * BLOCK + (4800 if self.k >= 200 else 0)
        self.k += 1
        stamp = T0 + first / TRUE_RATE + self.rng.normal(0, 50e-6)
        return Block(np.zeros(BLOCK), start_index=first, time=stamp)


def test_a_stream_times_its_chunks_from_the_device_clock() -> None:
    stream = RealtimeStream.from_source(DriftingDevice(6.0), chunk_size=BLOCK, max_latency=None)
    errors, rates = [], []
    with stream:
        for chunk in stream:
            truth = T0 + chunk.start_index / TRUE_RATE
            errors.append(chunk.metadata.start_time - truth)
            rates.append(chunk.metadata.measured_rate)
    errors_arr = np.abs(np.asarray(errors[50:]))
    assert errors_arr.max() < 1e-3
    assert rates[-1] == pytest.approx(TRUE_RATE, abs=1.0)
    reasons = [s.reason for s in stream.clock.segments()]
    assert reasons == ["start", "gap"]  # the gap started a new segment
    nominal = abs(stream.clock.nominal_rate - TRUE_RATE) / TRUE_RATE
    assert nominal == pytest.approx(PPM, rel=0.01)
