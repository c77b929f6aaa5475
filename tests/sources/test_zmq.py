"""ZmqSource against real pyzmq peers, and against a real GNU Radio 3.10 flowgraph."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zmq

from _helpers import free_port
from livetrace import ConfigurationError, RealtimeStream, SourceUnavailableError
from livetrace.sources import ZmqSource, open_source

DEADLINE = 10.0
SYSTEM_PYTHON = "/usr/bin/python3"
FLOWGRAPH = Path(__file__).with_name("gnuradio_flowgraph.py")


class Ctx:
    """A zmq context whose sockets are closed (linger 0) when the test ends."""

    def __init__(self) -> None:
        self.context: zmq.Context[Any] = zmq.Context()
        self.sockets: list[zmq.Socket[Any]] = []

    def socket(self, kind: int) -> zmq.Socket[Any]:
        sock = self.context.socket(kind)
        self.sockets.append(sock)
        return sock

    def close(self) -> None:
        for sock in self.sockets:
            sock.close(linger=0)
        self.context.term()


@pytest.fixture
def ctx() -> Iterator[Ctx]:
    c = Ctx()
    yield c
    c.close()


def bound(sock: zmq.Socket[Any]) -> str:
    """Bind ``sock`` to a free port on 127.0.0.1; its endpoint."""
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    return f"tcp://127.0.0.1:{port}"


def collect(stream: RealtimeStream, n: int) -> np.ndarray:
    parts, got = [], 0
    for chunk in stream:
        parts.append(chunk.data.copy())
        got += len(chunk)
        if got >= n:
            break
    return np.concatenate(parts)


def wait_subscribed(xpub: zmq.Socket[Any], topic: bytes = b"") -> None:
    """Block until a subscriber's subscription reached the XPUB socket (no slow joiner)."""
    assert xpub.poll(int(DEADLINE * 1000)), "no subscriber connected"
    assert xpub.recv() == b"\x01" + topic


def ramp(n: int) -> np.ndarray:
    k = np.arange(n)
    return (k - 1j * k).astype(np.complex64)


# ---------------------------------------------------------------------- pyzmq peers
def test_pull_from_push_complex64_exact_through_stream(ctx: Ctx) -> None:
    push = ctx.socket(zmq.PUSH)
    address = bound(push)
    sent = ramp(5000)
    src = ZmqSource(address, pattern="pull", sample_rate=1e6)
    with RealtimeStream.from_source(src, overflow="block", chunk_size=1000) as stream:
        for piece in np.array_split(sent, [1, 4, 11, 700, 2500]):  # odd message sizes
            push.send(piece.tobytes())  # waits for the PULL side to connect: lossless
        got = collect(stream, len(sent))
    assert got.dtype == np.complex64
    np.testing.assert_array_equal(got, sent)
    h = src.health()
    assert (h["messages"], h["samples_received"], h["partial_messages"]) == (6, 5000, 0)


def test_sub_from_xpub_float32_stereo_exact(ctx: Ctx) -> None:
    xpub = ctx.socket(zmq.XPUB)
    address = bound(xpub)
    src = ZmqSource(address, pattern="sub", dtype="float32", channels=2, sample_rate=1e3)
    stream = RealtimeStream.from_source(src, overflow="block", chunk_size=100)
    stream.start()
    wait_subscribed(xpub)
    sent = np.arange(2000, dtype=np.float32).reshape(-1, 2)
    for piece in np.split(sent, 10):
        xpub.send(piece.tobytes())
    got = collect(stream, len(sent))
    stream.stop()
    np.testing.assert_array_equal(got, sent)


def test_sub_topic_multipart_and_prefixed_frames(ctx: Ctx) -> None:
    xpub = ctx.socket(zmq.XPUB)
    address = bound(xpub)
    src = ZmqSource(address, dtype="int16", sample_rate=1e3, topic="scope")
    src.start()
    wait_subscribed(xpub, b"scope")
    xpub.send_multipart([b"scope", np.arange(3, dtype=np.int16).tobytes()])
    xpub.send(b"scope" + np.arange(3, 6, dtype=np.int16).tobytes())
    xpub.send(b"other" + np.arange(99, dtype=np.int16).tobytes())  # filtered out by ZeroMQ
    xpub.send(b"scope" + np.arange(6, 8, dtype=np.int16).tobytes())
    got = []
    deadline = time.monotonic() + DEADLINE
    while sum(map(len, got)) < 8 and time.monotonic() < deadline:
        out = src.acquire()
        if out is not None:
            got.append(out)
    src.stop()
    np.testing.assert_array_equal(np.concatenate(got), np.arange(8))
    assert src.health()["messages"] == 3


def test_a_frame_split_across_messages_is_carried_over(ctx: Ctx) -> None:
    push = ctx.socket(zmq.PUSH)
    address = bound(push)
    payload = ramp(10).tobytes()
    src = ZmqSource(address, pattern="pull", sample_rate=1e3)
    src.start()
    for a, b in ((0, 13), (13, 14), (14, 80)):
        push.send(payload[a:b])
    got = []
    deadline = time.monotonic() + DEADLINE
    while sum(map(len, got)) < 10 and time.monotonic() < deadline:
        out = src.acquire()
        if out is not None:
            got.append(out)
    src.stop()
    np.testing.assert_array_equal(np.concatenate(got), ramp(10))
    assert src.health()["partial_messages"] == 2


@pytest.mark.parametrize(("pattern", "bind"), [("sub", False), ("pull", True), ("pull", False)])
def test_stop_is_prompt_with_no_peer(pattern: str, bind: bool) -> None:
    port = free_port()
    src = ZmqSource(f"tcp://127.0.0.1:{port}", pattern=pattern, bind=bind, sample_rate=1e3)
    stream = RealtimeStream.from_source(src)
    stream.start()
    time.sleep(0.15)
    t0 = time.monotonic()
    stream.stop()
    assert time.monotonic() - t0 < 0.5
    assert src.health()["open"] is False


def test_restart_reconnects_and_marks_discontinuity(ctx: Ctx) -> None:
    xpub = ctx.socket(zmq.XPUB)
    xpub.setsockopt(zmq.XPUB_VERBOSE, 1)
    address = bound(xpub)
    src = ZmqSource(address, dtype="float32", sample_rate=1e3)
    stream = RealtimeStream.from_source(src, overflow="block", chunk_size=10)
    stream.start()
    wait_subscribed(xpub)
    xpub.send(np.arange(10, dtype=np.float32).tobytes())
    a = collect(stream, 10)
    stream.stop()
    assert xpub.poll(int(DEADLINE * 1000))
    assert xpub.recv() == b"\x00"  # the source unsubscribed: its socket is closed
    stream.start()
    wait_subscribed(xpub)
    xpub.send(np.arange(10, 20, dtype=np.float32).tobytes())
    chunk = next(iter(stream))
    stream.stop()
    np.testing.assert_array_equal(np.concatenate([a, chunk.data]), np.arange(20))
    assert chunk.metadata.discontinuity
    assert chunk.metadata.start_index == 10


def test_bind_to_an_address_in_use_is_unavailable(ctx: Ctx) -> None:
    other = ctx.socket(zmq.PUSH)
    address = bound(other)
    src = ZmqSource(address, pattern="pull", bind=True, sample_rate=1e3)
    with pytest.raises(SourceUnavailableError, match=f"ZmqSource: cannot bind {address}"):
        src.start()


# ---------------------------------------------------------------------- URIs
def test_zmq_uris_build_the_described_sources() -> None:
    sub = open_source("zmq+sub://127.0.0.1:5555?dtype=complex64&sample_rate=1e6&topic=iq")
    assert isinstance(sub, ZmqSource)
    assert (sub.pattern, sub.address, sub.topic, sub.bind) == (
        "sub",
        "tcp://127.0.0.1:5555",
        b"iq",
        False,
    )
    assert sub.info.description == (
        "zmq+sub://127.0.0.1:5555?dtype=complex64&sample_rate=1e6&topic=iq"
    )
    pull = open_source("zmq+pull://*:5556?dtype=float32&vlen=4&sample_rate=2e6&bind=1")
    assert isinstance(pull, ZmqSource)
    assert (pull.pattern, pull.address, pull.bind) == ("pull", "tcp://*:5556", True)
    assert (pull.info.dtype, pull.info.n_channels, pull.info.sample_rate) == ("float32", 4, 2e6)


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("zmq+sub://127.0.0.1:5555", "sample_rate is required"),
        ("zmq+sub://127.0.0.1:5555?sample_rate=1&hwm=5", "unknown parameter.*hwm.*rcvhwm"),
        ("zmq+pull://127.0.0.1:5555?sample_rate=1&topic=x", "topic applies to pattern='sub'"),
        ("zmq+sub://127.0.0.1:5555?sample_rate=1&dtype=float128x", "dtype must be a numpy"),
        ("zmq+sub://127.0.0.1:5555?sample_rate=1&bind=perhaps", "bind='perhaps' is invalid"),
        ("zmq+sub://?sample_rate=1", "expected zmq\\+sub://HOST:PORT"),
    ],
)
def test_bad_zmq_uris_say_what_is_wrong(uri: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        open_source(uri)


def test_bad_constructor_values() -> None:
    with pytest.raises(ConfigurationError, match="pattern must be 'sub' or 'pull', got 'req'"):
        ZmqSource("tcp://127.0.0.1:1", pattern="req", sample_rate=1)
    with pytest.raises(ConfigurationError, match="address must be a ZeroMQ endpoint"):
        ZmqSource("127.0.0.1:1", sample_rate=1)


# ---------------------------------------------------------------------- GNU Radio interop
def run_flowgraph(mode: str, address: str, n_items: int, vlen: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [SYSTEM_PYTHON, str(FLOWGRAPH), mode, address, str(n_items), str(vlen)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != b"started":
        proc.kill()
        _, err = proc.communicate(timeout=DEADLINE)
        pytest.fail(f"the GNU Radio flowgraph did not start: {line!r} {err.decode()[-500:]}")
    return proc


def finish(proc: subprocess.Popen[bytes]) -> None:
    try:
        proc.communicate(timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    assert proc.returncode == 0


@pytest.mark.gnuradio
@pytest.mark.usefixtures("gnuradio")
def test_gnuradio_push_sink_ramp_exact_sample_for_sample() -> None:
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    n, vlen = 100_000, 2
    proc = run_flowgraph("push", address, n, vlen)
    try:
        src = open_source(f"zmq+pull://127.0.0.1:{port}?dtype=complex64&vlen=2&sample_rate=1e6")
        with RealtimeStream.from_source(src, overflow="block", chunk_size=5000) as stream:
            got = collect(stream, n)
    finally:
        finish(proc)
    np.testing.assert_array_equal(got, ramp(n * vlen).reshape(n, vlen))


@pytest.mark.gnuradio
@pytest.mark.usefixtures("gnuradio")
def test_gnuradio_pub_sink_repeating_ramp_is_contiguous_and_exact() -> None:
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    period = 1000
    proc = run_flowgraph("pub", address, period, 1)
    try:
        src = ZmqSource(f"tcp://127.0.0.1:{port}", pattern="sub", sample_rate=2e5)
        with RealtimeStream.from_source(src, overflow="block", chunk_size=2000) as stream:
            got = collect(stream, 20_000)
    finally:
        finish(proc)
    first = int(got[0].real)
    expected = ramp(period)[(first + np.arange(len(got))) % period]
    np.testing.assert_array_equal(got, expected)
    assert sys.byteorder == "little"  # GNU Radio sends native items; we decode little-endian
