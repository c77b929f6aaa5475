"""``livetrace plot`` and ``RecordingReader.plot``: envelope, gaps, size, spectrum."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from livetrace import SourceInfo, TraceMetadata, WaveformTrace

pytest.importorskip("h5py")
pytest.importorskip("matplotlib")
Image = pytest.importorskip("PIL.Image")

from livetrace.recording._plot import figure_and_envelope  # noqa: E402
from livetrace.sinks import Recorder, RecordingReader  # noqa: E402

RATE = 10_000.0
SRC = Path(__file__).resolve().parents[2] / "src"


def sig(idx: np.ndarray) -> np.ndarray:
    """A 50 Hz sine plus a one-sample glitch every 7919 samples, by absolute index."""
    x = np.sin(2 * np.pi * 50 * idx / RATE)
    x[idx % 7919 == 0] += 10.0
    return np.column_stack([x, -2 * x]).astype(np.float32)


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    """2 channels, samples [0, 60 000) then 5 000 lost, then [65 000, 120 000)."""
    path = tmp_path / "gap.h5"
    rec = Recorder(path)
    rec.open(SourceInfo(sample_rate=RATE, dtype="float32", n_channels=2,
                        channel_names=("a", "b"), units=("V", "A"), finite=True))  # fmt: skip
    blocks = [(k, 10_000, 0) for k in range(0, 60_000, 10_000)] + [(65_000, 5_000, 5_000)]
    blocks += [(k, 10_000, 0) for k in range(70_000, 120_000, 10_000)]
    for start, n, gap in blocks:
        meta = TraceMetadata(sample_rate=RATE, start_index=start, gap=gap, discontinuity=gap > 0)
        rec.write(WaveformTrace(sig(np.arange(start, start + n)), meta))
    rec.close()
    return path


def test_envelope_matches_numpy_and_breaks_at_the_gap(recording: Path) -> None:
    with RecordingReader(recording) as reader:
        fig, env = figure_and_envelope(
            reader, start=None, duration=None, channels=None, spectrum=True,
            width=1000, height=None, dpi=100, nperseg=1024,
        )  # fmt: skip
    b = env.bucket
    assert b == int(np.ceil(120_000 / 850))
    assert env.gaps == [(60_000, 5_000)]
    assert len(env.runs) == 2  # never joined across the gap
    (s1, _, mx1), (s2, _, _) = env.runs
    assert s1[0] == 0
    assert s1[-1] < 60_000 <= s1[-1] + b
    assert s2[0] <= 65_000 < s2[0] + b
    assert (s1 % b == 0).all()
    assert (s2 % b == 0).all()
    # a few columns against numpy on the same samples (the existing ones of each bucket)
    for run_starts, mins, maxs in env.runs:
        for k in (0, len(run_starts) // 3, len(run_starts) - 1):
            idx = np.arange(run_starts[k], run_starts[k] + b)
            idx = idx[(idx < 60_000) | (idx >= 65_000)]
            idx = idx[idx < 120_000]
            ref = sig(idx)
            np.testing.assert_allclose(mins[:, k], ref.min(axis=0), rtol=1e-6)
            np.testing.assert_allclose(maxs[:, k], ref.max(axis=0), rtol=1e-6)
    # the glitches (one sample each) survive in the envelope
    glitch = 7919 * 3
    k = np.searchsorted(s1, glitch, side="right") - 1
    assert mx1[0, k] > 8.5
    assert len(fig.axes) == 3  # two channels and the spectrum


def test_plot_command_writes_a_png_of_the_expected_size(recording: Path, tmp_path: Path) -> None:
    out = tmp_path / "gap.png"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    cmd = [sys.executable, "-m", "livetrace", "plot", str(recording), "-o", str(out),
           "--width", "1200", "--height", "700", "--spectrum"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    img = Image.open(io.BytesIO(out.read_bytes()))
    assert img.size == (1200, 700)
    artefacts = Path(__file__).resolve().parents[1] / "artifacts"
    artefacts.mkdir(exist_ok=True)
    (artefacts / "plot-gap.png").write_bytes(out.read_bytes())


def test_reader_plot_zooms_to_samples_and_names_channels(recording: Path) -> None:
    with RecordingReader(recording) as reader:
        fig = reader.plot(start=1.0, duration=0.01, channels=["b"], width=800)
    (ax,) = fig.axes
    assert ax.get_ylabel() == "b (A)"
    _, y = ax.lines[0].get_data()
    np.testing.assert_allclose(y, sig(np.arange(10_000, 10_100))[:, 1], rtol=1e-6)
    with RecordingReader(recording) as reader, pytest.raises(Exception, match="no channel"):
        reader.plot(channels=["zz"])
