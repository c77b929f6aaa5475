"""Raw I/Q files by extension, written by GNU Radio's ``file_sink`` (``.cfile``, interleaved
short and char) and by sox (unsigned 8-bit offset binary, as rtl-sdr writes ``.cu8``)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from livetrace import ConfigurationError
from livetrace.sources import FileSource, open_source
from livetrace.testing import check_source

from ._helpers import drain, stream_all
from .conftest import write_iq

pytestmark = pytest.mark.gnuradio
N = 1000


def iq_signal(n: int) -> np.ndarray:  # type: ignore[type-arg]
    k = np.arange(n)
    return (((k * 7) % 256 - 128) / 128 + 1j * (((k * 13) % 256 - 128) / 128)).astype(np.complex64)


@pytest.fixture(scope="module")
def iq_dir(gnuradio: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("iq")
    write_iq(d / "sig", N)
    shutil.copyfile(d / "sig.cfile", d / "sig.cf32")  # inspectrum's name for the same bytes
    if shutil.which("sox") is None:
        pytest.skip("sox is not installed (scripts/install-test-deps installs it)")
    subprocess.run(
        [
            "sox",
            "-t",
            "raw",
            "-e",
            "signed",
            "-b",
            "8",
            "-c",
            "2",
            "-r",
            "1000",
            str(d / "sig.cs8"),
            "-t",
            "raw",
            "-e",
            "unsigned",
            "-b",
            "8",
            str(d / "sig.cu8"),
        ],
        check=True,
        timeout=30,
    )
    return d


@pytest.mark.parametrize("ext", [".cfile", ".cf32", ".cs16", ".cs8", ".cu8"])
def test_extension_selects_the_encoding(iq_dir: Path, ext: str) -> None:
    src = open_source(f"file:{iq_dir / ('sig' + ext)}?sample_rate=2.4e6&speed=0")
    try:
        assert src.info is not None
        assert (src.info.dtype, src.info.sample_rate) == ("complex64", 2.4e6)
        data = np.concatenate([d for _, _, d in drain(src)])
    finally:
        src.close()  # type: ignore[attr-defined]
    assert data.dtype == np.complex64
    np.testing.assert_array_equal(data, iq_signal(N))  # exact: multiples of 1/128


def test_through_a_stream_and_conformance(iq_dir: Path) -> None:
    src = FileSource(iq_dir / "sig.cu8", sample_rate=1e6, speed=None)
    try:
        data, metas = stream_all(src, chunk_size=300)
    finally:
        src.close()
    np.testing.assert_array_equal(data, iq_signal(N))
    assert [m.start_index for m in metas] == [0, 300, 600, 900]
    check_source(lambda: FileSource(iq_dir / "sig.cs16", sample_rate=1e6, speed=None))


def test_sample_rate_is_required(iq_dir: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"sig\.cs8.*sample_rate="):
        FileSource(iq_dir / "sig.cs8")


def test_a_cut_capture_drops_the_partial_pair(iq_dir: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.cs16"
    cut.write_bytes((iq_dir / "sig.cs16").read_bytes()[:-3])
    src = FileSource(cut, sample_rate=1e6, speed=None)
    try:
        data = np.concatenate([d for _, _, d in drain(src)])
        assert src.health()["trailing_bytes"] == 1
    finally:
        src.close()
    np.testing.assert_array_equal(data, iq_signal(N)[: N - 1])


def test_explicit_raw_still_reads_raw(iq_dir: Path) -> None:
    src = FileSource(
        iq_dir / "sig.cs16", format="raw", dtype="int16", channels=2, sample_rate=1e6, speed=None
    )
    try:
        data = np.concatenate([d for _, _, d in drain(src)])
    finally:
        src.close()
    assert data.dtype == np.int16
    assert data.shape == (N, 2)
