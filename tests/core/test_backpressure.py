"""Each built-in source says whether it can wait without losing samples (SourceInfo.backpressure),
and streams built from it pick the overflow policy from that."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from livetrace import RealtimeStream
from livetrace.sources import open_source


@pytest.mark.parametrize(
    ("uri", "can_wait"),
    [
        ("sim:sine", True),
        ("exec:cat /dev/null?sample_rate=1000", True),
        ("tcp://127.0.0.1:9?dtype=float32&sample_rate=1000", True),
        ("udp://127.0.0.1:0?dtype=float32&sample_rate=1000", False),
        ("zmq+pull://127.0.0.1:5599?dtype=float32&sample_rate=1000", True),
        ("zmq+sub://127.0.0.1:5599?dtype=float32&sample_rate=1000", False),
    ],
)
def test_backpressure_declared_and_used(uri: str, can_wait: bool) -> None:
    src = open_source(uri)
    assert src.info is not None
    assert src.info.backpressure is can_wait
    stream = RealtimeStream.from_source(src)
    assert stream.config.overflow == ("block" if can_wait else "overwrite")


def test_files_can_wait(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.zeros(10, dtype=np.float32))
    src = open_source(f"file:{tmp_path / 'x.npy'}?sample_rate=1000")
    assert src.info is not None
    assert src.info.backpressure
