"""SigMF: recordings written by the ``sigmf`` package read back exactly (gaps from
``core:global_index``, times from ``core:datetime``); livetrace's exports and direct
recordings pass ``sigmf`` validation and read back through ``sigmf`` itself."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sigmf = pytest.importorskip("sigmf")
pytest.importorskip("h5py")

from sigmf import SigMFFile  # noqa: E402
from sigmf.validate import validate  # noqa: E402

from livetrace import (  # noqa: E402
    Block,
    ConfigurationError,
    EndOfStream,
    RealtimeSource,
    RealtimeStream,
    SourceError,
    SourceInfo,
)
from livetrace.analysis import EdgeTrigger  # noqa: E402
from livetrace.formats._sigmf import (  # noqa: E402
    SigmfRecorder,
    format_datetime,
    open_sigmf,
    parse_datetime,
)
from livetrace.recording import export_recording  # noqa: E402
from livetrace.sinks import Recorder  # noqa: E402
from livetrace.sources import FileSource, open_source  # noqa: E402
from livetrace.testing import check_source  # noqa: E402

from ._helpers import drain, stream_all  # noqa: E402

T0 = "2024-05-01T12:00:00.250000Z"


def sigmf_write(
    base: Path,
    data: np.ndarray[Any, Any],
    datatype: str,
    captures: list[dict[str, Any]],
    num_channels: int = 1,
) -> Path:
    """A recording written by the sigmf package itself."""
    data.tofile(f"{base}.sigmf-data")
    meta = SigMFFile(
        data_file=f"{base}.sigmf-data",
        global_info={
            "core:datatype": datatype,
            "core:sample_rate": 48000,
            "core:num_channels": num_channels,
            "core:description": "written by sigmf",
        },
    )
    for cap in captures:
        start = cap.pop("core:sample_start")
        meta.add_capture(start, metadata=cap)
    meta.add_annotation(100, 50, metadata={"core:label": "burst"})
    meta.tofile(f"{base}.sigmf-meta")
    return Path(f"{base}.sigmf-meta")


def test_reads_a_recording_written_by_sigmf(tmp_path: Path) -> None:
    n = 3000
    x = (np.arange(n) + 1j * np.arange(n, 0, -1)).astype(np.complex64)
    caps = [
        {"core:sample_start": 0, "core:global_index": 0, "core:datetime": T0},
        {"core:sample_start": 1000, "core:global_index": 1500},  # 500 lost
        {
            "core:sample_start": 2000,
            "core:global_index": 2500,
            "core:datetime": "2024-05-01T12:00:00.302083333Z",
        },
    ]
    meta = sigmf_write(tmp_path / "rec", x, "cf32_le", caps)
    for name in ("rec.sigmf-meta", "rec.sigmf-data"):
        src = open_source(f"file:{tmp_path / name}?speed=0&chunk_size=700")
        try:
            got = drain(src)
            assert src.timestamps() == [  # type: ignore[attr-defined]
                (0, parse_datetime(T0)),
                (2500, parse_datetime(caps[2]["core:datetime"])),
            ]
            assert src.info is not None
            assert src.info.start_time == parse_datetime(T0)
        finally:
            src.close()  # type: ignore[attr-defined]
        np.testing.assert_array_equal(np.concatenate([d for _, _, d in got]), x)
        assert [i for i, _, _ in got] == [0, 700, 1500, 2200, 2500, 3200]
    # the same samples as the sigmf package reads them
    ref = sigmf.sigmffile.fromfile(str(meta))
    np.testing.assert_array_equal(ref.read_samples(), x)
    reader = open_sigmf(meta)
    try:
        assert reader.meta["annotations"][0]["core:label"] == "burst"
    finally:
        reader.close()


@pytest.mark.parametrize(
    ("datatype", "dtype"), [("ri16_le", "<i2"), ("ru8", "u1"), ("ci16_be", ">i2"), ("cu8", "u1")]
)
def test_integer_scaling_matches_sigmf_autoscale(tmp_path: Path, datatype: str, dtype: str) -> None:
    rng = np.random.default_rng(1)
    info = np.iinfo(np.dtype(dtype))
    raw = rng.integers(
        info.min, info.max, size=(500, 2 * (1 + (datatype[0] == "c"))), endpoint=True
    ).astype(dtype)
    meta = sigmf_write(tmp_path / "ints", raw, datatype, [{"core:sample_start": 0}], num_channels=2)
    ref = sigmf.sigmffile.fromfile(str(meta)).read_samples()  # autoscaled floats
    src = FileSource(meta, speed=None)
    try:
        data = np.concatenate([d for _, _, d in drain(src)])
        info_ = src.info
    finally:
        src.close()
    assert info_ is not None
    if datatype[0] == "r":  # counts, with the scale that turns them into sigmf's floats
        assert data.dtype == np.dtype(dtype).newbyteorder("=")
        data = data * info_.scale + (info_.offset or 0.0)
    np.testing.assert_allclose(data, ref, rtol=0, atol=0)


def make_recording(path: Path, dtype: str = "float32") -> np.ndarray[Any, Any]:
    from livetrace.testing import JumpSource  # tests/ is on sys.path for the suite

    src = JumpSource(6, 100, {2: ("jump", 50), 4: ("jump", 7)}, dtype=dtype)
    with RealtimeStream.from_source(src, chunk_size=100, sinks=[Recorder(path)]) as s:
        s.run()
    return np.concatenate([np.arange(0, 200), np.arange(250, 450), np.arange(457, 657)])


def test_export_recording_to_sigmf(tmp_path: Path) -> None:
    values = make_recording(tmp_path / "rec.h5")
    n = export_recording(tmp_path / "rec.h5", tmp_path / "out.sigmf-meta")
    assert n == 600
    doc = json.loads((tmp_path / "out.sigmf-meta").read_text())
    validate(doc)
    caps = [(c["core:sample_start"], c["core:global_index"]) for c in doc["captures"]]
    assert caps == [(0, 0), (200, 250), (400, 457)]
    assert doc["global"]["core:datatype"] == "rf32_le"
    assert all("core:datetime" in c for c in doc["captures"])
    ref = sigmf.sigmffile.fromfile(str(tmp_path / "out.sigmf-meta"))
    np.testing.assert_array_equal(ref.read_samples(), values.astype(np.float32))
    # replay: gaps come back exactly
    src = FileSource(tmp_path / "out.sigmf-data", speed=None)
    try:
        data, metas = stream_all(src, chunk_size=64)
    finally:
        src.close()
    np.testing.assert_array_equal(data, values)
    assert sum(m.gap for m in metas) == 57
    assert [m.start_index for m in metas if m.gap] == [250, 457]


class TriggeredSource(RealtimeSource):
    """Square pulses (values 0/1) in blocks of 100, with a 30-sample gap before block 3."""

    def __init__(self) -> None:
        self.k = 0
        self.pos = 0

    @property
    def info(self) -> SourceInfo:
        return SourceInfo(sample_rate=1000.0, dtype="float64", finite=True, backpressure=True)

    def acquire(self) -> Block:
        if self.k >= 6:
            raise EndOfStream("done")
        if self.k == 3:
            self.pos += 30
        idx = np.arange(self.pos, self.pos + 100)
        self.pos += 100
        self.k += 1
        return Block(((idx % 80) >= 40).astype(np.float64), int(idx[0]))


def test_sigmf_recorder_with_trigger_annotations(tmp_path: Path) -> None:
    out = tmp_path / "live.sigmf-meta"
    trig = EdgeTrigger(level=0.5, pre=5, post=10)
    with RealtimeStream.from_source(
        TriggeredSource(), chunk_size=50, analyzers=[trig], sinks=[SigmfRecorder(out)]
    ) as s:
        s.run()
    doc = json.loads(out.read_text())
    validate(doc)
    assert [(c["core:sample_start"], c["core:global_index"]) for c in doc["captures"]] == [
        (0, 0),
        (300, 330),
    ]
    notes = doc["annotations"]
    assert notes
    assert all(a["core:label"] == "trigger" for a in notes)
    # rising edges at absolute 40 + 80 k (the trigger sees across the gap: 360 counts);
    # stored index = absolute - 30 after the gap
    starts = [a["core:sample_start"] for a in notes]
    absolute = [s_ if s_ < 300 else s_ + 30 for s_ in starts]
    assert [a + 5 for a in absolute] == list(range(40, 630, 80))
    assert all(a["core:sample_count"] == 15 for a in notes)
    ref = sigmf.sigmffile.fromfile(str(out))
    assert ref.sample_count == 600


def test_conformance(tmp_path: Path) -> None:
    """(Conformance wants contiguous chunks: a recording without gaps.)"""
    x = np.arange(1000, dtype=np.float32)
    meta = sigmf_write(tmp_path / "c", x, "rf32_le", [{"core:sample_start": 0}])
    check_source(lambda: FileSource(meta, speed=None, chunk_size=64))


def test_bad_files_name_the_problem(tmp_path: Path) -> None:
    (tmp_path / "a.sigmf-data").write_bytes(b"\0" * 80)
    (tmp_path / "a.sigmf-meta").write_text("{not json")
    with pytest.raises(SourceError, match=r"a\.sigmf-meta.*JSON"):
        FileSource(tmp_path / "a.sigmf-meta")
    (tmp_path / "a.sigmf-meta").write_text(
        json.dumps(
            {"global": {"core:datatype": "cf32_le", "core:version": "1.2.0"}, "captures": []}
        )
    )
    with pytest.raises(ConfigurationError, match="sample_rate"):
        FileSource(tmp_path / "a.sigmf-meta")
    (tmp_path / "a.sigmf-meta").write_text(
        json.dumps({"global": {"core:datatype": "xf32", "core:sample_rate": 1}, "captures": []})
    )
    with pytest.raises(SourceError, match="xf32"):
        FileSource(tmp_path / "a.sigmf-meta")
    (tmp_path / "a.sigmf-meta").write_text(
        json.dumps(
            {
                "global": {"core:datatype": "cf32_le", "core:sample_rate": 1},
                "captures": [{"core:sample_start": 0}, {"core:sample_start": 50}],
            }
        )
    )
    with pytest.raises(SourceError, match="beyond the end"):
        FileSource(tmp_path / "a.sigmf-meta")


def test_datetime_round_trip() -> None:
    t = 1714564800.123456789
    text = format_datetime(t)
    assert text.startswith("2024-05-01T12:00:00.12345")
    assert abs(parse_datetime(text) - t) < 1e-6
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert parse_datetime("2024-05-01T12:00:00Z") == 1714564800.0


def test_paced_looping_replay_keeps_gaps_and_marks_the_splice(tmp_path: Path) -> None:
    x = np.arange(300, dtype=np.float32)
    caps = [
        {"core:sample_start": 0, "core:global_index": 0},
        {"core:sample_start": 200, "core:global_index": 210},
    ]
    meta = sigmf_write(tmp_path / "loop", x, "rf32_le", caps)
    src = FileSource(meta, speed=50.0, loop=True, chunk_size=100)  # 48 kHz x 50: fast
    try:
        got = [src.acquire() for _ in range(7)]
        src.reset()
        again = src.acquire()
    finally:
        src.close()
    assert [(b.start_index, b.discontinuity) for b in got] == [  # type: ignore[union-attr]
        (0, False),
        (100, False),
        (210, False),  # the 10-sample gap
        (310, True),
        (410, False),
        (520, False),  # second pass numbered after the first
        (620, True),
    ]
    assert src.health()["loops"] == 2
    assert again is not None
    assert again.start_index == 0
