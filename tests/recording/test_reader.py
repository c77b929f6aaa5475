"""RecordingReader, RecordingSource (replay keeps gaps) and export_recording."""

from __future__ import annotations

import threading
import time
import wave
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import scipy.io.wavfile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from livetrace import (
    Block,
    ConfigurationError,
    EndOfStream,
    RealtimeConfig,
    RealtimeSource,
    RealtimeStream,
    SimulatedSource,
    SourceError,
    SourceInfo,
    SourceUnavailableError,
    TraceMetadata,
    WaveformTrace,
)
from livetrace.recording import Gap
from livetrace.sinks import Recorder, RecordingReader, RecordingSource, export_recording
from livetrace.sources import open_source
from livetrace.testing import JumpSource

RATE = 1000.0


class BurstSource(RealtimeSource):
    """Bursts bigger than the buffer: with overflow="drop_newest" most of each is dropped.

    Burst ``k`` is emitted only after ``release()`` was called ``k`` times (the consumer
    calls it once the buffer is empty), so exactly ``capacity`` samples of each are kept."""

    def __init__(self, bursts: int, size: int) -> None:
        self.bursts, self.size, self.k = bursts, size, 0
        self._go = threading.Semaphore(1)
        self._stop = threading.Event()

    @property
    def info(self) -> SourceInfo:
        return SourceInfo(sample_rate=RATE, dtype="float64", finite=True, description="bursts")

    def release(self) -> None:
        self._go.release()

    def stop(self) -> None:
        self._stop.set()

    def acquire(self) -> np.ndarray | None:
        if self.k >= self.bursts:
            raise EndOfStream("done")
        if not self._go.acquire(timeout=0.05):
            return None
        x = np.arange(self.k * self.size, (self.k + 1) * self.size, dtype=np.float64)
        self.k += 1
        return x


Chunks = list[tuple[int, int, int, bool]]


def run_live(
    source: RealtimeSource, path: Path, on_chunk: Any = None, **cfg: Any
) -> tuple[Chunks, np.ndarray]:
    """Stream ``source`` through a Recorder writing ``path``; the chunks as delivered."""
    return run_replay(source, on_chunk=on_chunk, sinks=[Recorder(path, overwrite=True)], **cfg)


def run_replay(
    source: RealtimeSource, on_chunk: Any = None, **cfg: Any
) -> tuple[Chunks, np.ndarray]:
    """Stream ``source``: (start_index, length, gap, discontinuity) of each chunk, and the data."""
    seen: Chunks = []
    data: list[np.ndarray] = []
    with RealtimeStream.from_source(source, **cfg) as s:
        for c in s:
            seen.append((c.start_index, len(c), c.metadata.gap, c.metadata.discontinuity))
            data.append(c.data.copy())
            if on_chunk is not None:
                on_chunk(s)
    return seen, np.concatenate(data)


PLAN = {2: ("jump", 30), 4: ("disc", 0), 5: ("jump", 1), 7: ("jump", 500)}


# ------------------------------------------------------------------------------ gap round trip
def test_replay_gives_the_same_chunks_and_gaps_as_live(tmp_path: Path) -> None:
    path = tmp_path / "rec.h5"
    cfg = {"chunk_size": 32, "overflow": "block"}
    live, live_data = run_live(JumpSource(9, 50, PLAN, factors=(1.0, 2.0)), path, **cfg)
    assert sum(1 for c in live if c[3]) == 4  # the gaps really happened
    replay, replay_data = run_replay(RecordingSource(path, speed=None), **cfg)
    assert replay == live
    np.testing.assert_array_equal(replay_data, live_data)


def test_replay_reproduces_overflow_drops(tmp_path: Path) -> None:
    path = tmp_path / "drops.h5"
    cfg = {"chunk_size": 100, "buffer_size": 1000, "overflow": "drop_newest"}
    src = BurstSource(6, 5000)

    def drained(stream: RealtimeStream) -> None:
        if stream.health().buffer_fill == 0:
            src.release()

    live, live_data = run_live(src, path, on_chunk=drained, **cfg)
    gaps = [c for c in live if c[2] > 0]
    assert [(c[0], c[2]) for c in gaps] == [(5000 * k, 4000) for k in range(1, 6)]
    assert sum(c[1] for c in live) == 6000
    # the last burst's 4000 dropped samples come after the last chunk: the consumer never
    # sees them as a gap, but the recording keeps them as a final loss at index 30000
    with RecordingReader(path) as r:
        assert r.samples_lost == sum(c[2] for c in live) + 4000
        assert [g.start_index for g in r.gaps] == [c[0] for c in gaps] + [30000]
        assert r.trailing_loss is not None
        assert r.trailing_loss.length == 4000
    replay, replay_data = run_replay(
        RecordingSource(path, speed=None), chunk_size=100, overflow="block"
    )
    assert replay == live
    np.testing.assert_array_equal(replay_data, live_data)
    np.testing.assert_array_equal(
        live_data, np.concatenate([np.arange(s, s + n) for s, n, _, _ in live])
    )


def test_open_source_file_uri_replays_a_recording(tmp_path: Path) -> None:
    pytest.importorskip("livetrace.sources._file")
    from livetrace.sources import open_source

    path = tmp_path / "rec.h5"
    cfg = {"chunk_size": 32, "overflow": "block"}
    live, live_data = run_live(JumpSource(9, 50, PLAN), path, **cfg)
    replay, replay_data = run_replay(open_source(f"file:{path}?speed=0"), **cfg)
    assert replay == live
    np.testing.assert_array_equal(replay_data, live_data)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(chunk_size=st.integers(1, 700))
def test_replay_blocks_do_not_depend_on_chunk_size(tmp_path: Path, chunk_size: int) -> None:
    path = tmp_path / "inv.h5"
    if not path.exists():
        run_live(JumpSource(9, 50, PLAN), path, chunk_size=32, overflow="block")
    src = RecordingSource(path, speed=None, chunk_size=chunk_size)
    blocks: list[Block] = []
    with pytest.raises(EndOfStream):
        while True:
            blocks.append(src.acquire())
    assert all(len(b.data) <= chunk_size for b in blocks)
    values = np.concatenate([b.data for b in blocks])
    starts = np.concatenate([np.arange(b.start_index, b.start_index + len(b.data)) for b in blocks])
    np.testing.assert_array_equal(values, starts.astype(np.float32))  # value == position
    flagged = sorted(b.start_index for b in blocks if b.discontinuity)
    assert flagged == [130, 230, 281, 881]  # every loss, of known size (a jump) or not
    # every jump in positions is exactly a recorded gap
    ends = [b.start_index + len(b.data) for b in blocks[:-1]]
    jumps = {
        nxt.start_index: nxt.start_index - e
        for e, nxt in zip(ends, blocks[1:], strict=False)
        if nxt.start_index != e
    }
    assert jumps == {130: 30, 281: 1, 881: 500}


# ------------------------------------------------------------------------------ the source
def test_source_info_and_end(tmp_path: Path) -> None:
    path = tmp_path / "rec.h5"
    sim = SimulatedSource("sine", sample_rate=RATE, n_samples=300, realtime=False, chunk_size=64)
    with RealtimeStream.from_source(sim, sinks=[Recorder(path)]) as s:
        s.run()
        t0 = s.info.start_time
    src = RecordingSource(path, speed=None, chunk_size=128)
    i = src.info
    assert (i.sample_rate, i.dtype, i.n_channels, i.finite, i.start_time) == (
        RATE,
        "float64",
        1,
        True,
        t0,
    )
    assert i.description == sim.info.description
    got = [src.acquire() for _ in range(3)]
    assert [(b.start_index, len(b.data)) for b in got] == [(0, 128), (128, 128), (256, 44)]
    with pytest.raises(EndOfStream):
        src.acquire()
    with pytest.raises(EndOfStream):
        src.acquire()
    # a replayed chunk carries the recorded wall-clock time of its samples
    with RealtimeStream.from_source(RecordingSource(path, speed=None), chunk_size=100) as s:
        first = next(iter(s))
        assert first.metadata.start_time == t0


def test_paced_replay_takes_the_recorded_time_including_gaps(tmp_path: Path) -> None:
    path = tmp_path / "paced.h5"
    rec = Recorder(path)
    rec.open(SourceInfo(sample_rate=RATE, dtype="float64"))
    for start in (0, 300):  # 100 samples, a gap of 200, 100 samples: span 0.4 s
        rec.write(WaveformTrace(np.zeros(100), TraceMetadata(sample_rate=RATE, start_index=start)))
    rec.close()
    src = RecordingSource(path, speed=1.0, chunk_size=50)
    src.start()
    t0 = time.monotonic()
    n = 0
    with pytest.raises(EndOfStream):
        while True:
            b = src.acquire()
            n += 0 if b is None else len(b.data)
    elapsed = time.monotonic() - t0
    assert n == 200
    assert elapsed >= 0.4 * 0.95  # never faster than recorded (the gap's time is kept)
    fast = RecordingSource(path, speed=4.0, chunk_size=50)
    t0 = time.monotonic()
    with pytest.raises(EndOfStream):
        while True:
            fast.acquire()
    assert time.monotonic() - t0 >= 0.1 * 0.95


def test_stop_wakes_a_paced_acquire(tmp_path: Path) -> None:
    path = tmp_path / "slow.h5"
    rec = Recorder(path)
    rec.open(SourceInfo(sample_rate=RATE, dtype="float64"))
    rec.write(WaveformTrace(np.zeros(1000), TraceMetadata(sample_rate=RATE)))
    rec.close()
    src = RecordingSource(path, speed=0.001, chunk_size=100)  # 100 s per block
    src.start()
    out: list[Any] = []
    t = threading.Thread(target=lambda: out.append(src.acquire()))
    t.start()
    time.sleep(0.05)
    t0 = time.monotonic()
    src.stop()
    t.join(2)
    assert not t.is_alive()
    assert time.monotonic() - t0 < 1.0
    assert out == [None]
    src.close()


def test_loop_keeps_positions_increasing(tmp_path: Path) -> None:
    path = tmp_path / "loop.h5"
    run_live(JumpSource(2, 50, {1: ("jump", 10)}), path, chunk_size=50, overflow="block")
    src = RecordingSource(path, speed=None, loop=True, chunk_size=50)
    blocks = [src.acquire() for _ in range(6)]
    assert [(b.start_index, b.discontinuity) for b in blocks] == [
        (0, False),
        (60, True),
        (110, True),
        (170, True),
        (220, True),
        (280, True),
    ]
    np.testing.assert_array_equal(blocks[2].data, blocks[0].data)
    assert (src.health()["position"], src.health()["loops"]) == (100, 2)
    src.close()


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such recording"):
        RecordingReader(tmp_path / "missing.h5")
    with pytest.raises(SourceUnavailableError) as err:
        RecordingSource(tmp_path / "missing.h5")
    assert str(err.value) == f"cannot replay '{tmp_path / 'missing.h5'}': no such recording"
    with pytest.raises(IsADirectoryError, match="expected a recording file, got a directory"):
        RecordingReader(tmp_path)
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5 at all" * 10)
    with pytest.raises(OSError, match="cannot open .*junk.h5"):
        RecordingReader(junk)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(ConfigurationError, match="not a livetrace recording"):
        RecordingReader(other)
    with pytest.raises(ConfigurationError, match="speed"):
        RecordingSource(other, speed=-1)


# ------------------------------------------------------------------------------ the reader
def test_reader_random_access(tmp_path: Path) -> None:
    path = tmp_path / "rec.h5"
    run_live(JumpSource(9, 50, PLAN, factors=(1.0, 2.0)), path, chunk_size=32, overflow="block")
    with RecordingReader(path) as r:
        assert r.n_samples == 450
        assert r.gaps == [
            Gap(130, 30, 100, True),
            Gap(230, 0, 200, False),
            Gap(281, 1, 250, True),
            Gap(881, 500, 350, True),
        ]
        assert r.samples_lost == 531
        assert r.end_index == 981
        assert r.span == pytest.approx(0.981)
        assert r.duration == pytest.approx(0.45)
        k = np.arange(450)
        idx = r.absolute_index(k)
        assert [r.absolute_index(int(i)) for i in (0, 99, 100, 449)] == [0, 99, 130, 980]
        assert idx.tolist() == [
            *range(100),
            *range(130, 230),
            *range(230, 280),
            *range(281, 381),
            *range(881, 981),
        ]
        x = r.read()
        np.testing.assert_array_equal(x[:, 0], idx.astype(np.float32))
        np.testing.assert_array_equal(x[:, 1], 2 * idx.astype(np.float32))
        np.testing.assert_array_equal(r.read(440, 10_000), x[440:])
        np.testing.assert_array_equal(r.read(-5), x[-5:])
        assert r.read(300, 200).shape == (0, 2)
        blocks = list(r.iter_blocks(64))
        assert all(len(b.data) <= 64 for b in blocks)
        np.testing.assert_array_equal(np.concatenate([b.data for b in blocks]), x)
        for b in blocks:  # never spanning a gap: values are contiguous positions
            np.testing.assert_array_equal(
                b.data[:, 0], np.arange(b.start_index, b.start_index + len(b.data))
            )
        assert [(b.start_index, b.gap, b.discontinuity) for b in blocks if b.discontinuity] == [
            (130, 30, True),
            (230, 0, True),
            (281, 1, True),
            (881, 500, True),
        ]
        with pytest.raises(IndexError):
            r.absolute_index(450)
        assert "gaps=4" in repr(r)


# ------------------------------------------------------------------------------ exports
@pytest.fixture
def recording(tmp_path: Path) -> Path:
    path = tmp_path / "src.h5"
    sim = SimulatedSource(
        "sine",
        frequency=7.0,
        amplitude=0.9,
        sample_rate=8000,
        n_samples=3001,
        realtime=False,
        n_channels=2,
        dtype="float32",
    )
    with RealtimeStream.from_source(
        sim,
        chunk_size=256,
        overflow="block",
        channel_names=("left", "right"),
        sinks=[Recorder(path)],
    ) as s:
        s.run()
    return path


def _spy_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    sizes: list[int] = []
    real = RecordingReader.read

    def read(self: RecordingReader, start: int = 0, stop: int | None = None) -> np.ndarray:
        out = real(self, start, stop)
        sizes.append(len(out))
        return out

    monkeypatch.setattr(RecordingReader, "read", read)
    return sizes


def test_export_wav_float32_and_int16(
    recording: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with RecordingReader(recording) as r:
        x = r.read()
    sizes = _spy_reads(monkeypatch)
    out = tmp_path / "o.wav"
    assert export_recording(recording, out, block_size=500) == 3001
    assert max(sizes) <= 500
    assert sum(sizes) == 3001
    rate, y = scipy.io.wavfile.read(out)
    assert rate == 8000
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, x)
    out16 = tmp_path / "o16.wav"
    export_recording(recording, out16, wav_dtype="int16")
    with wave.open(str(out16)) as w:  # plain PCM: the standard library reads it
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == (
            2,
            2,
            8000,
            3001,
        )
        raw = np.frombuffer(w.readframes(3001), dtype="<i2").reshape(-1, 2)
    np.testing.assert_array_equal(raw, np.clip(np.rint(x * 32768.0), -32768, 32767))


def test_export_npy_and_csv(
    recording: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with RecordingReader(recording) as r:
        x = r.read()
    sizes = _spy_reads(monkeypatch)
    npy = tmp_path / "o.npy"
    assert export_recording(recording, npy, block_size=1000) == 3001
    assert max(sizes) <= 1000
    y = np.load(npy)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, x)
    csv = tmp_path / "o.csv"
    export_recording(recording, csv, block_size=700)
    lines = csv.read_text().splitlines()
    assert lines[0] == "index,left,right"
    table = np.loadtxt(csv, delimiter=",", skiprows=1)
    np.testing.assert_array_equal(table[:, 0], np.arange(3001))
    np.testing.assert_array_equal(table[:, 1:].astype(np.float32), x)  # %.9g reads back exactly


def test_export_csv_keeps_absolute_positions_of_gaps(tmp_path: Path) -> None:
    path = tmp_path / "gaps.h5"
    run_live(JumpSource(4, 10, {2: ("jump", 5)}), path, chunk_size=10, overflow="block")
    csv = tmp_path / "g.csv"
    export_recording(path, csv)
    table = np.loadtxt(csv, delimiter=",", skiprows=1)
    assert table[:, 0].tolist() == [*range(20), *range(25, 45)]
    np.testing.assert_array_equal(table[:, 1], table[:, 0])


def test_export_errors(recording: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"\.wav, \.npy or \.csv"):
        export_recording(recording, tmp_path / "x.mp3")
    existing = tmp_path / "x.npy"
    existing.write_bytes(b"keep")
    with pytest.raises(FileExistsError, match="x.npy"):
        export_recording(recording, existing)
    assert existing.read_bytes() == b"keep"
    export_recording(recording, existing, overwrite=True)
    assert np.load(existing).shape == (3001, 2)
    with pytest.raises(ConfigurationError, match="wav_dtype"):
        export_recording(recording, tmp_path / "y.wav", wav_dtype="int8")
    cpath = tmp_path / "c.h5"
    cfg = RealtimeConfig(sample_rate=RATE, buffer_size=100, chunk_size=10, dtype="complex64")
    rec = Recorder(cpath)
    rec.open(SourceInfo(sample_rate=RATE, dtype=cfg.np_dtype.name))
    z = (np.arange(4) + 1j * np.arange(4)).astype(np.complex64)
    rec.write(WaveformTrace(z, TraceMetadata(sample_rate=RATE)))
    rec.close()
    with pytest.raises(ConfigurationError, match="complex"):
        export_recording(cpath, tmp_path / "c.wav")
    export_recording(cpath, tmp_path / "c.csv")
    rows = (tmp_path / "c.csv").read_text().splitlines()
    assert rows[1:] == ["0,0j", "1,(1+1j)", "2,(2+2j)", "3,(3+3j)"]
    np.testing.assert_array_equal(
        [complex(r.split(",")[1]) for r in rows[1:]], z.astype(np.complex128)
    )


def test_a_loss_at_the_end_is_recorded_and_replayed(tmp_path: Path) -> None:
    from livetrace import RealtimeConfig, RealtimeStream
    from livetrace.sinks import Recorder, RecordingReader, RecordingSource
    from livetrace.testing import RampSource

    path = tmp_path / "tail.h5"
    cfg = RealtimeConfig(
        sample_rate=1000.0, chunk_size=100, buffer_size=100, overflow="drop_newest"
    )
    with RealtimeStream(cfg, RampSource(250, 250), sinks=[Recorder(path)]) as live:
        assert sum(len(c) for c in live) == 100
    with RecordingReader(path) as rec:
        assert rec.n_samples == 100
        tail = rec.trailing_loss
        assert tail is not None
        assert (tail.start_index, tail.length, tail.stored_index) == (250, 150, 100)
    # replaying and re-recording keeps the loss where it was
    again = tmp_path / "again.h5"
    replay = RecordingSource(path, speed=None)
    with RealtimeStream.from_source(replay, sinks=[Recorder(again)]) as stream:
        assert [c.start_index for c in stream] == [0]
    assert stream.health().source_gap == 150
    with RecordingReader(again) as rec2:
        assert rec2.gaps == RecordingReader(path).gaps


# ------------------------------------------------------------------------------ PCM round trip
def _pcm_wav(path: Path, counts: np.ndarray, rate: int = 8000) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(counts.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(counts.astype("<i2").tobytes())


def _frames(path: Path) -> tuple[tuple[int, int, int, int], bytes]:
    with wave.open(str(path)) as w:
        head = (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes())
        return head, w.readframes(w.getnframes())


@pytest.mark.parametrize("store", [None, "int16"])
def test_pcm_wav_recorded_and_exported_gives_the_original_bytes(
    tmp_path: Path, store: str | None
) -> None:
    rng = np.random.default_rng(7)
    counts = rng.integers(-32768, 32768, size=(5000, 2)).astype(np.int16)
    counts[:4] = [[-32768, 32767], [0, -1], [1, -32767], [32767, -32768]]  # the extremes
    original = tmp_path / "in.wav"
    _pcm_wav(original, counts)
    rec_path = tmp_path / "rec.h5"
    recorder = Recorder(rec_path, dtype=store, scale=None if store is None else 1 / 32768)
    src = open_source(f"file:{original}?speed=0")
    with RealtimeStream.from_source(src, sinks=[recorder]) as s:
        s.run()
    assert recorder.clipped == 0
    out = tmp_path / "out.wav"
    export_recording(rec_path, out, wav_dtype="int16")
    assert _frames(out) == _frames(original)


def test_int16_export_scales_by_32768_and_clips(tmp_path: Path) -> None:
    path = tmp_path / "f.h5"
    x = np.array([-1.5, -1.0, -0.5, 0.0, 0.5, 32766.5 / 32768, 1.0, 2.0], dtype=np.float64)
    rec = Recorder(path)
    rec.open(SourceInfo(sample_rate=8000.0, dtype="float64"))
    rec.write(WaveformTrace(x, TraceMetadata(sample_rate=8000.0)))
    rec.close()
    out = tmp_path / "f.wav"
    export_recording(path, out, wav_dtype="int16")
    _, raw = _frames(out)
    assert np.frombuffer(raw, "<i2").tolist() == [
        -32768,
        -32768,
        -16384,
        0,
        16384,
        32766,  # rint rounds half to even
        32767,
        32767,
    ]


# ------------------------------------------------------------------------------ narrower dtypes
def test_storing_in_a_narrower_integer_clips_and_counts_never_wraps(tmp_path: Path) -> None:
    path = tmp_path / "n.h5"
    rec = Recorder(path, dtype="int16")
    rec.open(SourceInfo(sample_rate=1000.0, dtype="int32"))
    rec.write(
        WaveformTrace(
            np.array([40000, -40000, 5, 32767, -32768], dtype=np.int32),
            TraceMetadata(sample_rate=1000.0),
        )
    )
    rec.close()
    assert rec.clipped == 2
    with RecordingReader(path) as r:
        assert r.read().tolist() == [32767, -32768, 5, 32767, -32768]
        assert r.clipped == 2


def test_float_to_integer_storage_needs_a_scale(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"f\.h5.*float64 samples as int16 needs scale="):
        Recorder(tmp_path / "f.h5", dtype="int16").open(
            SourceInfo(sample_rate=1000.0, dtype="float64")
        )
    with pytest.raises(ConfigurationError, match="integer storage dtype"):
        Recorder(tmp_path / "g.h5", dtype="float32", scale=0.5)
    with pytest.raises(ConfigurationError, match="finite number > 0"):
        Recorder(tmp_path / "g.h5", dtype="int16", scale=0.0)
    path = tmp_path / "s.h5"
    rec = Recorder(path, dtype="int16", scale=1 / 32768)
    rec.open(SourceInfo(sample_rate=1000.0, dtype="float64"))
    x = np.array([-1.0, -0.25, 0.0, 0.3, 0.99997, 1.0, 3.0, np.nan])
    rec.write(WaveformTrace(x, TraceMetadata(sample_rate=1000.0)))
    rec.close()
    assert rec.clipped == 3  # 1.0 and 3.0 above 32767/32768, and NaN
    with RecordingReader(path) as r:
        counts = r.read()
        assert counts.dtype == np.int16
        assert counts.tolist() == [-32768, -8192, 0, 9830, 32767, 32767, 32767, 0]
        assert r.info.scale == pytest.approx(1 / 32768)
        assert r.clipped == 3
        assert r.metadata["clip"] == "clip-and-count"
    # a ±1 signal keeps its shape (not {-1, 0, 1}), and replays as values again
    with RealtimeStream.from_source(RecordingSource(path, speed=None)) as s:
        back = np.concatenate([c.data for c in s])
    np.testing.assert_allclose(back[:5], x[:5], atol=1 / 65536)


# ------------------------------------------------------------------------------ CSV round trip
def test_csv_export_replays_through_file_with_positions_and_gaps(tmp_path: Path) -> None:
    path = tmp_path / "rec.h5"
    plan = {2: ("jump", 30), 5: ("jump", 1), 7: ("jump", 500)}
    names = ("left ear", "right;x")
    src = JumpSource(9, 50, plan, factors=(1.0, 2.0), channel_names=names)
    live, live_data = run_live(src, path, chunk_size=32, overflow="block")
    csv = tmp_path / "rec.csv"
    export_recording(path, csv)
    assert csv.read_text().splitlines()[0] == "index,left_ear,right_x"
    cfg = {"chunk_size": 32, "overflow": "block"}
    replay, replay_data = run_replay(open_source(f"file:{csv}?sample_rate=1000&speed=0"), **cfg)
    assert replay == live
    np.testing.assert_array_equal(replay_data, live_data)
    with RealtimeStream.from_source(open_source(f"file:{csv}?sample_rate=1000&speed=0")) as s:
        assert s.info.channel_names == ("left_ear", "right_x")


def test_csv_index_going_back_is_a_clear_error(tmp_path: Path) -> None:
    csv = tmp_path / "back.csv"
    csv.write_text("index,a\n0,1\n1,2\n1,3\n")
    src = open_source(f"file:{csv}?sample_rate=10&speed=0")
    with pytest.raises(SourceError, match=r"back\.csv.*index column must hold increasing"):
        src.acquire()
    src.close()
