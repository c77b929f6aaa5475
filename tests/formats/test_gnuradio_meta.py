"""GNU Radio ``file_meta_sink`` files written by a real flowgraph (Debian's GNU Radio 3.10),
read back without GNU Radio: rates, types, ``rx_time``, segments; never as raw samples."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from livetrace import ConfigurationError, SourceError
from livetrace.formats._gnuradio_meta import is_gnuradio_meta, open_gnuradio_meta
from livetrace.formats._pmt import PmtError, parse_pmt
from livetrace.sources import FileSource, open_source
from livetrace.testing import check_source

from ._helpers import drain, stream_all
from .conftest import write_meta

pytestmark = pytest.mark.gnuradio
N = 1000
RAMP = (np.arange(N) - 1j * np.arange(N)).astype(np.complex64)
T0 = 1700000000.25
T2 = 1700000100.5


@pytest.fixture(scope="module")
def files(gnuradio: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("grmeta")
    return {
        "attached": write_meta(d / "attached.dat", "c", N, detached=False),
        "detached": write_meta(d / "detached.bin", "c", N, detached=True, max_segment=300),
        "f": write_meta(d / "real_f.dat", "f", N, detached=False),
        "s": write_meta(d / "real_s.dat", "s", N, detached=False),
        "i": write_meta(d / "real_i", "i", N, detached=False),
        "b": write_meta(d / "real_b.raw", "b", N, detached=True),
        "v": write_meta(d / "vectors.dat", "v", N, detached=False),
    }


def test_attached_headers_are_parsed_not_read_as_samples(files: dict[str, Path]) -> None:
    src = open_source(f"file:{files['attached']}?speed=0")
    try:
        info = src.info
        assert info is not None
        assert (info.sample_rate, info.dtype, info.n_channels) == (1000.0, "complex64", 1)
        assert info.start_time == T0
        got = drain(src)
        data = np.concatenate([d for _, _, d in got])
        np.testing.assert_array_equal(data, RAMP)  # no header byte among the samples
        # a new segment at every tag; the rx_time jump at 500 (no continuation) is flagged
        assert [(i, disc) for i, disc, _ in got] == [(0, False), (250, False), (500, True)]
        assert src.timestamps() == [(0, T0), (500, T2)]  # type: ignore[attr-defined]
        health = src.health()
        assert health["segments"] == 3
        assert health["rate_changes"] == 1
        assert health["header"] == "attached"
    finally:
        src.close()  # type: ignore[attr-defined]


@pytest.mark.parametrize("which", ["data", "hdr"])
def test_detached_header_from_data_or_header_path(files: dict[str, Path], which: str) -> None:
    path = files["detached"] if which == "data" else Path(f"{files['detached']}.hdr")
    reader = open_gnuradio_meta(path)
    try:
        blocks = []
        while len(blk := reader.read(10_000).data):
            blocks.append(blk)
        assert [len(b) for b in blocks] == [250, 250, 300, 200]  # max_segment_size=300
        np.testing.assert_array_equal(np.concatenate(blocks), RAMP)
        table = reader.meta["segments"]
        assert [s["rx_rate"] for s in table] == [1000.0, 2000.0, 2000.0, 2000.0]
        assert table[0]["extra"] == {"station": "lab"}
        # GNU Radio advanced rx_time itself for the split at 800: a continuation, no loss
        assert reader.timestamps() == [(0, T0), (500, T2), (800, T2 + 300 / 2000)]
        assert [s["discontinuity"] for s in table] == [False, False, True, False]
        assert reader.health()["header"] == "detached"
    finally:
        reader.close()


@pytest.mark.parametrize(
    ("kind", "dtype", "expected"),
    [
        ("f", "float32", np.arange(N, dtype=np.float32)),
        ("s", "int16", np.arange(N, dtype=np.int16)),
        ("i", "int32", np.arange(N, dtype=np.int32)),
        ("b", "uint8", (np.arange(N) % 256).astype(np.uint8)),
    ],
)
def test_item_types(files: dict[str, Path], kind: str, dtype: str, expected: Any) -> None:
    src = FileSource(files[kind], speed=None, chunk_size=333)
    try:
        assert src.info is not None
        assert src.info.dtype == dtype
        data = np.concatenate([d for _, _, d in drain(src)])
        assert data.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(data, expected)
    finally:
        src.close()


def test_stream_reports_the_rx_time_jump(files: dict[str, Path]) -> None:
    src = FileSource(files["attached"], speed=None)
    try:
        data, metas = stream_all(src, chunk_size=100)
    finally:
        src.close()
    np.testing.assert_array_equal(data, RAMP)
    assert [m.start_index for m in metas if m.discontinuity] == [500]
    assert all(m.gap == 0 for m in metas)


def test_conformance(files: dict[str, Path]) -> None:
    check_source(lambda: FileSource(files["detached"], speed=None, chunk_size=128))


def test_raw_parameters_are_refused_for_a_meta_file(files: dict[str, Path]) -> None:
    assert is_gnuradio_meta(files["attached"])
    assert is_gnuradio_meta(files["detached"])
    with pytest.raises(ConfigurationError, match="gnuradio_meta"):
        FileSource(files["attached"], dtype="complex64", sample_rate=1000)


def _copy(src: Path, dst: Path, size: int | None = None) -> Path:
    shutil.copyfile(src, dst)
    if size is not None:
        with open(dst, "r+b") as f:
            f.truncate(size)
    return dst


def test_truncated_last_segment_reads_whole_items(files: dict[str, Path], tmp_path: Path) -> None:
    size = files["attached"].stat().st_size
    cut = _copy(files["attached"], tmp_path / "cut.dat", size - 100)  # 12.5 items short
    reader = open_gnuradio_meta(cut)
    try:
        n = 0
        while len(blk := reader.read(4096).data):
            np.testing.assert_array_equal(blk.data if False else blk, RAMP[n : n + len(blk)])
            n += len(blk)
        assert n == N - 13
        assert reader.health()["truncated_bytes"] == 100 + 4
    finally:
        reader.close()


def test_killed_writer_last_segment(files: dict[str, Path], tmp_path: Path) -> None:
    """A writer killed mid-segment leaves ``bytes`` = 0 in its last header: the data that
    follows is read."""
    path = _copy(files["attached"], tmp_path / "killed.dat")
    raw = bytearray(path.read_bytes())
    key = b"\x02\x00\x05bytes\x0b"
    last = raw.rfind(key)
    raw[last + len(key) : last + len(key) + 8] = struct.pack(">Q", 0)
    path.write_bytes(bytes(raw))
    reader = open_gnuradio_meta(path)
    try:
        assert reader.n_frames == N  # type: ignore[attr-defined]
        assert reader.health()["unterminated_segment"] is True
    finally:
        reader.close()


def test_cut_inside_a_header_names_the_file(files: dict[str, Path], tmp_path: Path) -> None:
    cut = _copy(files["attached"], tmp_path / "cuthdr.dat", 168 + 2000 + 60)
    with pytest.raises(SourceError, match=r"cuthdr\.dat.*byte 2168"):
        open_gnuradio_meta(cut)


def test_hostile_segment_length(files: dict[str, Path], tmp_path: Path) -> None:
    path = _copy(files["attached"], tmp_path / "hostile.dat")
    raw = bytearray(path.read_bytes())
    key = b"\x02\x00\x05bytes\x0b"
    first = raw.find(key)
    raw[first + len(key) : first + len(key) + 8] = struct.pack(">Q", 2**62)
    path.write_bytes(bytes(raw))
    with pytest.raises(SourceError, match="hostile.dat"):
        open_gnuradio_meta(path)


def test_hostile_pmt_sizes_fail_fast() -> None:
    huge_vector = b"\x08" + struct.pack(">I", 2**32 - 1) + b"\x06"
    with pytest.raises(PmtError, match="cannot fit"):
        parse_pmt(huge_vector)
    huge_uvec = b"\x0a\x09" + struct.pack(">I", 2**31) + b"\x00"
    with pytest.raises(PmtError, match="cut short"):
        parse_pmt(huge_uvec)
    deep = b"\x07" * 10_000
    with pytest.raises(PmtError, match="nested"):
        parse_pmt(deep)
    with pytest.raises(PmtError, match="unknown"):
        parse_pmt(b"\x7f")


def test_garbage_named_hdr_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.dat").write_bytes(b"\0" * 64)
    (tmp_path / "x.dat.hdr").write_bytes(b"\x09\x07garbage")
    with pytest.raises(SourceError, match=r"x\.dat\.hdr"):
        FileSource(tmp_path / "x.dat.hdr", speed=None)


def test_a_rate_that_is_not_a_number(files: dict[str, Path], tmp_path: Path) -> None:
    path = _copy(files["attached"], tmp_path / "rate.dat")
    raw = bytearray(path.read_bytes())
    key = b"\x02\x00\x07rx_rate"
    at = raw.find(key) + len(key)
    raw[at : at + 9] = b"\x02\x00\x06abcdef"  # a symbol where the double was
    path.write_bytes(bytes(raw))
    with pytest.raises(SourceError, match=r"rate\.dat: segment 0 has sample rate 'abcdef'"):
        open_gnuradio_meta(path)


def test_vectors_become_channels(files: dict[str, Path]) -> None:
    src = FileSource(files["v"], speed=None)
    try:
        assert src.info is not None
        assert (src.info.n_channels, src.info.dtype) == (2, "float32")
        data = np.concatenate([d for _, _, d in drain(src)])
    finally:
        src.close()
    np.testing.assert_array_equal(data, np.arange(2 * N, dtype=np.float32).reshape(N, 2))
