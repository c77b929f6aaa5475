"""GNU Radio ZeroMQ tag headers (``push_sink(..., pass_tags=True)``) from a real flowgraph:
items placed at the sender's indices, ``rx_time``/``rx_rate``/``rx_freq`` parsed."""

from __future__ import annotations

import struct
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

zmq = pytest.importorskip("zmq")

from livetrace import SourceError  # noqa: E402
from livetrace.formats._gnuradio_tags import parse_tag_header  # noqa: E402
from livetrace.sources import open_source  # noqa: E402
from livetrace.sources._zmq import ZmqSource  # noqa: E402

from .conftest import FLOWGRAPH, SYSTEM_PYTHON  # noqa: E402

N = 1000
RAMP = (np.arange(N) - 1j * np.arange(N)).astype(np.complex64)


def free_endpoint() -> str:
    ctx = zmq.Context()
    sock = ctx.socket(zmq.PULL)
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    sock.close(linger=0)
    ctx.term()
    return f"tcp://127.0.0.1:{port}"


@pytest.fixture
def flowgraph(gnuradio: None) -> Iterator[str]:
    address = free_endpoint()
    proc = subprocess.Popen(
        [SYSTEM_PYTHON, str(FLOWGRAPH), "zmqtags", address, str(N)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == b"started", proc.stderr.read().decode() if proc.stderr else ""
    try:
        yield address
    finally:
        proc.communicate(timeout=30)


def collect(src: ZmqSource, n: int) -> list[Any]:
    got: list[Any] = []
    total = 0
    deadline = time.monotonic() + 20
    while total < n and time.monotonic() < deadline:
        blk = src.acquire()
        if blk is None:
            continue
        got.append(blk)
        total += len(blk.data)
    return got


@pytest.mark.gnuradio
def test_real_flowgraph_tags(flowgraph: str) -> None:
    src = open_source(f"zmq+pull://{flowgraph.split('://')[1]}?sample_rate=1000&dtype=complex64")
    assert isinstance(src, ZmqSource)
    src.start()
    try:
        blocks = collect(src, N)
    finally:
        src.stop()
    data = np.concatenate([b.data for b in blocks])
    np.testing.assert_array_equal(data, RAMP)  # the headers never reach the samples
    starts = np.cumsum([0] + [len(b.data) for b in blocks[:-1]])
    assert [b.start_index for b in blocks] == starts.tolist()
    assert src.timestamps() == [(0, 1700000000.25), (500, 1700000100.5)]
    # each block carrying an rx_time tag is stamped with its first item's device time
    stamped = [(b.start_index, b.time) for b in blocks if b.time is not None]
    assert stamped[0] == (0, 1700000000.25)
    for start, t in stamped[1:]:
        assert t == pytest.approx(1700000100.5 - (500 - start) / 1000)
    health = src.health()
    assert health["rx_rate"] == 2000.0
    assert health["rx_freq"] == 433.92e6
    assert health["tags"] == 4
    keys = [(t.offset, t.key) for t in src.tags()]
    assert keys == [(0, "rx_time"), (250, "rx_rate"), (500, "rx_time"), (500, "rx_freq")]
    assert src.tags()[0].srcid == "test"


@pytest.mark.gnuradio
def test_real_pub_sub_drops_become_exact_gaps(gnuradio: None) -> None:
    """A slow subscriber of a real pub_sink loses messages; every sample still sits at the
    index its value says (the sender's offset modulo the ramp length, a prime)."""
    n = 1_000_003
    address = free_endpoint()
    proc = subprocess.Popen(
        [SYSTEM_PYTHON, str(FLOWGRAPH), "zmqpub", address, str(n), "lt"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"started"
    src = ZmqSource(address, sample_rate=500e3, pattern="sub", topic="lt", rcvhwm=2)
    try:
        src.start()
        first = collect(src, 5000)
        time.sleep(1.5)  # meanwhile messages are dropped at the high-water marks
        rest: list[Any] = []  # read past the backlog the socket buffers kept, to the gap
        expected = first[-1].start_index + len(first[-1].data)
        deadline = time.monotonic() + 20
        after_gap = 0
        while after_gap < 5000 and time.monotonic() < deadline:
            blk = src.acquire()
            if blk is None:
                continue
            if blk.start_index != expected or after_gap:
                after_gap += len(blk.data)
            expected = blk.start_index + len(blk.data)
            rest.append(blk)
    finally:
        src.stop()
        proc.communicate(timeout=30)
    blocks = first + rest
    origin = int(blocks[0].data[0].real)  # the sender's offset of index 0, modulo n
    for b in blocks:
        expect = (origin + np.arange(b.start_index, b.start_index + len(b.data))) % n
        np.testing.assert_array_equal(b.data, (expect - 1j * expect).astype(np.complex64))
    ends = [b.start_index + len(b.data) for b in blocks[:-1]]
    gaps = [b.start_index - e for b, e in zip(blocks[1:], ends, strict=True) if b.start_index != e]
    assert gaps, "the slow subscriber lost nothing: no gap was exercised"
    assert all(g > 0 for g in gaps)
    assert sum(gaps) < n  # so the modulo-n values pin every index


def _message(offset: int, items: np.ndarray[Any, Any], tags: bytes = b"", ntags: int = 0) -> bytes:
    return struct.pack("<HBQQ", 0x5FF0, 1, offset, ntags) + tags + items.tobytes()


@pytest.fixture
def push() -> Iterator[tuple[Any, str]]:
    ctx = zmq.Context()
    sock = ctx.socket(zmq.PUSH)
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    yield sock, f"tcp://127.0.0.1:{port}"
    sock.close(linger=0)
    ctx.term()


def test_offsets_become_exact_gaps_and_restarts_discontinuities(push: tuple[Any, str]) -> None:
    sock, address = push
    src = ZmqSource(address, sample_rate=1000, pattern="pull", dtype="float32")
    src.start()
    try:
        x = np.arange(10, dtype=np.float32)
        sock.send(_message(5000, x))  # connected late: the first item received is index 0
        sock.send(_message(5010, x))
        sock.send(_message(5030, x))  # 10 items lost between
        sock.send(_message(0, x))  # the sender restarted its count
        got = collect(src, 40)
    finally:
        src.stop()
    assert [(b.start_index, b.discontinuity) for b in got] == [
        (0, False),
        (10, False),
        (30, False),
        (40, True),
    ]


def test_required_header_missing_is_a_clear_error(push: tuple[Any, str]) -> None:
    sock, address = push
    src = ZmqSource(address, sample_rate=1000, pattern="pull", dtype="float32", tags=True)
    src.start()
    try:
        sock.send(np.arange(4, dtype=np.float32).tobytes())
        with pytest.raises(SourceError, match="pass_tags=True"):
            collect(src, 4)
    finally:
        src.stop()


def test_raw_items_are_still_raw(push: tuple[Any, str]) -> None:
    sock, address = push
    src = ZmqSource(address, sample_rate=1000, pattern="pull", dtype="float32")
    src.start()
    try:
        sock.send(np.arange(4, dtype=np.float32).tobytes())
        got = collect(src, 4)
    finally:
        src.stop()
    np.testing.assert_array_equal(got[0], np.arange(4, dtype=np.float32))
    assert "tags" not in src.health()


def test_hostile_tag_count_fails_fast() -> None:
    msg = struct.pack("<HBQQ", 0x5FF0, 1, 0, 2**60) + b"\0" * 16
    with pytest.raises(ValueError, match="more than the message can hold"):
        parse_tag_header(msg)
    with pytest.raises(ValueError, match="version"):
        parse_tag_header(struct.pack("<HBQQ", 0x5FF0, 2, 0, 0))
