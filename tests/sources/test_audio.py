"""AudioSource: the callback path with recorded callback sequences, and a real PortAudio
capture through an ALSA ``file`` PCM (defined in a private ``.asoundrc``) whose input is a
raw file of known samples."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from livetrace import ConfigurationError, RealtimeStream, SourceUnavailableError
from livetrace.sources import AudioSource, Block, open_source

DEADLINE = 10.0


class Status:
    """Stands for sounddevice.CallbackFlags: truthy when a flag is set."""

    def __init__(self, input_overflow: bool = False, other: bool = False) -> None:
        self.input_overflow = input_overflow
        self.other = other

    def __bool__(self) -> bool:
        return self.input_overflow or self.other

    def __str__(self) -> str:
        return "input overflow" if self.input_overflow else "priming output"


class FakeStream:
    """Stands for sounddevice.InputStream: counts stop() and close()."""

    def __init__(self) -> None:
        self.stopped = 0
        self.closed = 0

    def stop(self) -> None:
        self.stopped += 1

    def close(self) -> None:
        self.closed += 1


class RecordedAudio(AudioSource):
    """AudioSource without PortAudio: the test plays the callback sequence itself."""

    def _open_stream(self) -> Any:
        self.fake = FakeStream()
        self.opened = getattr(self, "opened", 0) + 1
        return self.fake


def blocks(n: int, frames: int, channels: int) -> list[np.ndarray]:
    x = np.arange(n * frames * channels, dtype=np.float32).reshape(n, frames, channels)
    return list(x)


def test_recorded_callbacks_overflow_and_full_queue_become_visible_drops() -> None:
    src = RecordedAudio(sample_rate=1000, channels=2, blocksize=4, queue_blocks=3)
    src.start()
    b = blocks(8, 4, 2)
    src._callback(b[0], 4, None, Status())
    src._callback(b[1], 4, None, Status(input_overflow=True))  # data lost before b[1]
    src._callback(b[2], 4, None, Status())
    src._callback(b[3], 4, None, Status())  # queue full (3 blocks): dropped
    src._callback(b[4], 4, None, Status(other=True))  # still full: dropped
    out = [src.acquire() for _ in range(3)]
    src._callback(b[5], 4, None, Status())  # first block after the drops
    src._callback(b[6], 4, None, Status())
    out += [src.acquire(), src.acquire()]
    src.stop()
    flags = [isinstance(o, Block) and o.discontinuity for o in out]
    assert flags == [False, True, False, True, False]
    data = [o.data if isinstance(o, Block) else o for o in out]
    for got, i in zip(data, [0, 1, 2, 5, 6], strict=True):
        np.testing.assert_array_equal(got, b[i])
        assert got.base is not b[i].base  # copied out of PortAudio's buffer
    h = src.health()
    assert (h["blocks"], h["frames"], h["input_overflows"]) == (7, 28, 1)
    assert (h["dropped_blocks"], h["dropped_frames"], h["other_status"]) == (2, 8, 1)
    assert h["last_status"] == "priming output"


def test_recorded_callbacks_through_stream_mark_the_chunk_after_the_loss() -> None:
    src = RecordedAudio(sample_rate=1000, channels=1, blocksize=10)
    stream = RealtimeStream.from_source(src, overflow="block", chunk_size=10)
    stream.start()
    sent = blocks(6, 10, 1)

    def audio_thread() -> None:
        for i, blk in enumerate(sent):
            src._callback(blk, 10, None, Status(input_overflow=(i == 4)))

    t = threading.Thread(target=audio_thread)
    t.start()
    chunks = []
    for chunk in stream:
        chunks.append(chunk)
        if len(chunks) == 6:
            break
    stream.stop()
    t.join(DEADLINE)
    np.testing.assert_array_equal(
        np.concatenate([c.data for c in chunks]), np.concatenate(sent)[:, 0]
    )
    assert [c.metadata.discontinuity for c in chunks] == [False] * 4 + [True, False]
    assert stream.health().discontinuities == 1


def test_stop_is_prompt_when_no_block_arrives() -> None:
    src = RecordedAudio()
    stream = RealtimeStream.from_source(src)
    stream.start()
    time.sleep(0.15)
    t0 = time.monotonic()
    stream.stop()
    assert time.monotonic() - t0 < 0.5
    assert (src.fake.stopped, src.fake.closed) == (1, 1)
    stream.start()  # restart: the next block is flagged
    src._callback(np.ones((1024, 1), np.float32), 1024, None, Status())
    chunk = next(iter(stream))
    stream.stop()
    assert chunk.metadata.discontinuity
    assert src.opened == 2


# ---------------------------------------------------------------------- real PortAudio capture
REAL_CAPTURE = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np
    from livetrace import RealtimeStream
    from livetrace.sources import open_source

    n_frames = int(sys.argv[1])
    src = open_source("audio:ltfile?sample_rate=48000&channels=2&blocksize=1000"
                      "&queue_blocks=64")
    stream = RealtimeStream.from_source(src, overflow="block", chunk_size=1000)
    parts, flags, got = [], [], 0
    with stream:
        for chunk in stream:
            parts.append(chunk.data.copy())
            flags.append(bool(chunk.metadata.discontinuity))
            got += len(chunk)
            if len(parts) == 1:
                time.sleep(0.05)  # a slow consumer: the unpaced device fills the queue
            if got >= n_frames + 200_000:
                break
        t0 = time.monotonic()
        stream.stop()
        stop_s = time.monotonic() - t0
    data = np.concatenate(parts)
    np.save(sys.argv[2], data[:n_frames])
    print(json.dumps({"health": src.health(), "flags": flags, "stop_s": stop_s,
                      "first_flag": flags.index(True) if True in flags else None}))
    """
)


def test_real_portaudio_capture_through_alsa_file_device(tmp_path: Path) -> None:
    n_frames = 20_000
    known = (np.arange(n_frames * 2, dtype=np.float32) / 1000).reshape(-1, 2)
    infile = tmp_path / "in.raw"
    known.tofile(infile)
    (tmp_path / ".asoundrc").write_text(
        'pcm.ltfile {\n  type file\n  slave.pcm "null"\n  file "/dev/null"\n'
        f'  infile "{infile}"\n  format "raw"\n}}\n'
    )
    script = tmp_path / "capture.py"
    script.write_text(REAL_CAPTURE)
    out = tmp_path / "out.npy"
    env = {**os.environ, "HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, str(script), str(n_frames), str(out)],
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, (
        "real capture through PortAudio failed (needs libportaudio2 and libasound2): "
        + proc.stderr.decode()[-1500:]
    )
    report = json.loads(proc.stdout)
    np.testing.assert_array_equal(np.load(out), known)  # exact, sample for sample
    h = report["health"]
    # the ALSA file/null device is not paced: it outruns the consumer, so blocks are dropped,
    # counted and flagged; nothing vanishes silently
    assert h["dropped_blocks"] > 0
    assert h["dropped_frames"] == 1000 * h["dropped_blocks"]
    assert report["first_flag"] is not None
    assert report["first_flag"] >= 20  # the first 64 queued blocks arrived intact
    assert report["stop_s"] < 0.5


def test_missing_device_is_unavailable(tmp_path: Path) -> None:
    code = (
        "from livetrace.sources import AudioSource\n"
        "from livetrace import SourceUnavailableError\n"
        "try:\n    AudioSource('no-such-card').start()\n"
        "except SourceUnavailableError as e:\n    print(e)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        env={**os.environ, "HOME": str(tmp_path)},
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()[-1000:]
    assert (
        "AudioSource: cannot open 'no-such-card' (1 ch, 48000 Hz, float32)" in proc.stdout.decode()
    )
    assert issubclass(SourceUnavailableError, ConnectionError)


# ---------------------------------------------------------------------- URIs
def test_audio_uris_build_the_described_source() -> None:
    src = open_source("audio:default?sample_rate=44100&channels=2&dtype=int16&blocksize=256")
    assert isinstance(src, AudioSource)
    assert (src.device, src.blocksize) == (None, 256)
    info = src.info
    assert (info.sample_rate, info.n_channels, info.dtype) == (44100.0, 2, "int16")
    assert info.description == (  # the URI that recreates the source
        "audio:default?sample_rate=44100&channels=2&dtype=int16&blocksize=256"
    )
    idx = open_source("audio:3?latency=low")
    assert isinstance(idx, AudioSource)
    assert (idx.device, idx.latency, idx.sample_rate) == (3, "low", 48000.0)
    named = open_source("audio:USB Audio?latency=0.02")
    assert isinstance(named, AudioSource)
    assert (named.device, named.latency) == ("USB Audio", 0.02)


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("audio:default?rate=0", "sample_rate must be positive"),
        ("audio:default?dtype=float64", "dtype must be one of float32, int32"),
        ("audio:default?channels=0", "channels must be an integer >= 1"),
        ("audio:default?latency=soon", "latency='soon' is invalid"),
        ("audio:default?gain=2", "unknown parameter.*gain.*blocksize"),
        ("audio:default?queue_blocks=0", "queue_blocks >= 1"),
    ],
)
def test_bad_audio_uris_say_what_is_wrong(uri: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        open_source(uri)
