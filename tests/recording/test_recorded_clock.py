"""Recordings keep the stream's clock map: stored times, replay with them, info shows drift."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from _helpers import livetrace_cli
from livetrace import Block, EndOfStream, RealtimeSource, RealtimeStream, SourceInfo
from livetrace.recording import Recorder, RecordingReader, RecordingSource

RATE = 8000.0
PPM = 100e-6
TRUE_RATE = RATE * (1 + PPM)
T0 = 1.7e9
BLOCK = 80


class Device(RealtimeSource):
    """A device 100 ppm fast stamping its blocks, with a 800-sample gap half way."""

    def __init__(self, n_blocks: int = 400, description: str = "dev") -> None:
        self.k = 0
        self.n_blocks = n_blocks
        self.description = description

    @property
    def info(self) -> SourceInfo:
        return SourceInfo(
            sample_rate=RATE, clock="device", finite=True, description=self.description
        )

    def acquire(self) -> Any:
        if self.k >= self.n_blocks:
            raise EndOfStream("done")
        first = self.k * BLOCK + (800 if self.k >= self.n_blocks // 2 else 0)
        self.k += 1
        return Block(np.full(BLOCK, float(self.k)), start_index=first, time=T0 + first / TRUE_RATE)


def record(path: Path, source: RealtimeSource) -> None:
    with RealtimeStream.from_source(source, chunk_size=BLOCK, sinks=[Recorder(path)]) as s:
        s.run()


def test_a_recording_keeps_the_clock_map_and_replay_uses_it(tmp_path: Path) -> None:
    path = tmp_path / "dev.h5"
    record(path, Device())
    with RecordingReader(path) as rec:
        assert len(rec.clock) >= 3  # start, after the gap, and once a second
        assert rec.measured_rate == pytest.approx(TRUE_RATE, abs=0.05)
        idx = np.arange(0, rec.end_index, 997)
        np.testing.assert_allclose(rec.time_of(idx), T0 + idx / TRUE_RATE, atol=1e-6)
    # a replay stamps each block with its recorded time: the replay's own clock map follows
    # (until its second block, a segment runs at the rate of the one before: < 1 ms here)
    with RealtimeStream.from_source(RecordingSource(path, speed=None), chunk_size=BLOCK) as s:
        errors = [c.metadata.start_time - (T0 + c.start_index / TRUE_RATE) for c in s]
        assert s.clock.kind == "device"
    assert np.abs(errors).max() < 1e-3


def test_info_shows_the_measured_rate_and_drift(tmp_path: Path) -> None:
    path = tmp_path / "dev.h5"
    record(path, Device())
    out = livetrace_cli("info", str(path), "--json")
    assert out.returncode == 0, out.stderr
    desc = json.loads(out.stdout)
    assert desc["drift_ppm"] == pytest.approx(100.0, abs=1.0)
    info = livetrace_cli("info", str(path))
    assert info.returncode == 0, info.stderr
    text = info.stdout
    assert "drift +100.0 ppm" in text or "drift +99.9 ppm" in text


def test_info_escapes_control_characters_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "evil.h5"
    record(path, Device(n_blocks=4, description="dev\x1b[2J\x1b[31mred\x07"))
    info = livetrace_cli("info", str(path))
    assert info.returncode == 0, info.stderr
    text = info.stdout
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "\\x1b[2J" in text
