"""TcpSource and UdpSource against real sockets on 127.0.0.1."""

from __future__ import annotations

import itertools
import re
import socket
import struct
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _helpers import TcpPeer, free_port
from livetrace import (
    ConfigurationError,
    EndOfStream,
    RealtimeStream,
    RetryPolicy,
    SourceError,
    SourceUnavailableError,
)
from livetrace.sources import Block, TcpSource, UdpSource, open_source

DEADLINE = 10.0


def send_pieces(conn: socket.socket, payload: bytes, sizes: list[int]) -> None:
    pos = 0
    i = 0
    while pos < len(payload):
        n = sizes[i % len(sizes)]
        conn.sendall(payload[pos : pos + n])
        pos += n
        i += 1


def collect(stream: RealtimeStream, n: int | None = None) -> tuple[np.ndarray, list[Any]]:
    """Iterate until the stream ends (or ``n`` samples came); data and chunk metadata."""
    parts, metas = [], []
    got = 0
    for chunk in stream:
        parts.append(np.array(chunk.data, copy=True))
        metas.append(chunk.metadata)
        got += len(chunk)
        if n is not None and got >= n:
            break
    return np.concatenate(parts) if parts else np.empty(0), metas


@pytest.fixture
def sources() -> Iterator[list[Any]]:
    """Sources to stop at the end of a test, whatever happened."""
    made: list[Any] = []
    yield made
    for src in made:
        src.stop()


# ---------------------------------------------------------------------- TCP, client
@pytest.mark.parametrize(
    ("dtype", "channels", "sizes"),
    [("float32", 1, [1, 3, 7]), ("int16", 2, [1, 3, 7, 5]), ("float64", 3, [4096, 13, 1])],
)
def test_tcp_client_exact_through_stream_with_odd_pieces(
    dtype: str, channels: int, sizes: list[int]
) -> None:
    rng = np.random.default_rng(1)
    frames = 3000
    sent = (rng.standard_normal((frames, channels)) * 1000).astype(dtype)
    payload = sent.astype(np.dtype(dtype).newbyteorder("<")).tobytes()
    server = TcpPeer(lambda conn, _: send_pieces(conn, payload, sizes))
    src = TcpSource(
        "127.0.0.1", server.port, dtype=dtype, channels=channels, sample_rate=1e4, reconnect=False
    )
    with RealtimeStream.from_source(src, overflow="block", chunk_size=256) as stream:
        got, metas = collect(stream)
    server.close()
    expected = sent[:, 0] if channels == 1 else sent
    np.testing.assert_array_equal(got, expected.astype(got.dtype))
    assert [m.start_index for m in metas] == list(range(0, frames, 256))
    assert not any(m.discontinuity for m in metas)
    h = src.health()
    assert h["bytes_received"] == len(payload)
    assert h["samples_received"] == frames
    assert h["reconnects"] == 0


def test_tcp_big_endian_int32() -> None:
    sent = np.arange(-500, 500, dtype=np.int32) * 70001
    server = TcpPeer(lambda conn, _: send_pieces(conn, sent.astype(">i4").tobytes(), [3, 1]))
    src = TcpSource(
        "127.0.0.1", server.port, dtype="int32", byteorder="big", sample_rate=1e3, reconnect=False
    )
    src.start()
    parts = []
    with pytest.raises(EndOfStream, match="closed"):
        while True:
            out = src.acquire()
            if out is not None:
                parts.append(out)
    src.stop()
    server.close()
    np.testing.assert_array_equal(np.concatenate(parts), sent)
    assert src.info.dtype == "int32"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cuts=st.lists(st.integers(0, 4 * 257 * 2), max_size=12))
def test_tcp_result_does_not_depend_on_where_the_bytes_are_cut(cuts: list[int]) -> None:
    sent = np.arange(257 * 2, dtype=np.float32).reshape(-1, 2) * 0.5
    payload = sent.tobytes()
    bounds = sorted({0, len(payload), *cuts})

    def handler(conn: socket.socket, _: int) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for a, b in itertools.pairwise(bounds):
            conn.sendall(payload[a:b])
            time.sleep(0.0005)

    server = TcpPeer(handler)
    src = TcpSource("127.0.0.1", server.port, channels=2, sample_rate=1e3, reconnect=False)
    src.start()
    parts = []
    try:
        while True:
            out = src.acquire()
            if out is not None:
                assert not isinstance(out, Block)
                parts.append(out)
    except EndOfStream:
        pass
    src.stop()
    server.close()
    np.testing.assert_array_equal(np.concatenate(parts), sent)


def test_tcp_client_reconnects_marks_discontinuity_and_discards_partial_frame() -> None:
    first = np.arange(1000, dtype=np.float32)
    second = np.arange(1000, 1700, dtype=np.float32)

    def handler(conn: socket.socket, i: int) -> None:
        if i == 0:
            conn.sendall(first.tobytes() + b"\x01\x02\x03")  # a partial frame, then drop
        else:
            conn.sendall(second.tobytes())
            time.sleep(0.2)

    server = TcpPeer(handler, peers=2)
    src = TcpSource("127.0.0.1", server.port, sample_rate=1e3, backoff=(0.01, 0.05))
    with RealtimeStream.from_source(src, overflow="block", chunk_size=100) as stream:
        got, metas = collect(stream, n=1700)
    server.close()
    np.testing.assert_array_equal(got, np.concatenate([first, second]))
    flagged = [m.start_index for m in metas if m.discontinuity]
    assert flagged == [1000]
    h = src.health()
    assert h["reconnects"] == 1
    assert h["connections"] == 2
    assert h["discarded_bytes"] == 3
    assert h["disconnects"] >= 1


def test_tcp_refused_without_reconnect_names_host_and_port() -> None:
    port = free_port()
    src = TcpSource("127.0.0.1", port, sample_rate=1e3, reconnect=False)
    with pytest.raises(SourceUnavailableError, match=rf"127\.0\.0\.1:{port}.*refused"):
        src.start()
    with pytest.raises(SourceUnavailableError, match=f"127.0.0.1:{port}"):
        src.acquire()
    assert src.health()["connect_failures"] == 2


def test_tcp_no_such_host_without_reconnect() -> None:
    src = TcpSource("no-such-host.invalid", 9, sample_rate=1e3, reconnect=False)
    with pytest.raises(SourceUnavailableError, match=r"no-such-host\.invalid:9"):
        src.start()


def test_tcp_refused_with_reconnect_surfaces_through_the_retry_policy() -> None:
    port = free_port()
    src = TcpSource("127.0.0.1", port, sample_rate=1e3, backoff=(0.001, 0.002))
    stream = RealtimeStream.from_source(
        src, overflow="block", retry=RetryPolicy(max_retries=2, backoff=0.001)
    )
    with stream, pytest.raises(SourceError, match=r"failed 3 time\(s\) in a row") as info:
        for _ in stream:
            pytest.fail("a refused connection delivered data")
    cause = info.value.__cause__
    assert isinstance(cause, SourceUnavailableError)
    assert re.search(rf"cannot connect to 127\.0\.0\.1:{port}: .*refused", str(cause))
    assert isinstance(cause.__cause__, ConnectionRefusedError)
    h = stream.health()
    assert h.source_errors == 3
    assert [r.attempt for r in stream.errors] == [1, 2, 3]
    assert all(isinstance(r.error, SourceUnavailableError) for r in stream.errors)
    assert h.last_error is not None
    assert f"127.0.0.1:{port}" in h.last_error
    assert h.source["connect_failures"] == 3
    assert "refused" in h.source["last_error"].lower()
    assert h.source["connected"] is False


def test_tcp_refused_acquire_raises_each_attempt_and_waits_its_backoff() -> None:
    port = free_port()
    src = TcpSource("127.0.0.1", port, sample_rate=1e3, backoff=(0.2, 0.4))
    src.start()  # a reconnecting client connects in acquire(), not here
    assert src.health()["connect_failures"] == 0
    t0 = time.monotonic()
    with pytest.raises(SourceUnavailableError, match=rf"127\.0\.0\.1:{port}"):
        src.acquire()
    with pytest.raises(SourceUnavailableError, match=rf"127\.0\.0\.1:{port}"):
        src.acquire()
    elapsed = time.monotonic() - t0
    assert elapsed >= 0.2  # the second attempt waited for the source's backoff
    assert src.health()["connect_failures"] == 2
    src.stop()


def test_tcp_unknown_host_with_reconnect_raises_from_acquire() -> None:
    src = TcpSource("no-such-host.invalid", 9, sample_rate=1e3)
    src.start()
    with pytest.raises(SourceUnavailableError, match=r"no-such-host\.invalid:9: ") as info:
        src.acquire()
    assert isinstance(info.value.__cause__, socket.gaierror)
    assert src.health()["connect_failures"] == 1
    src.stop()


def test_tcp_server_coming_up_after_a_refused_attempt_delivers_exact_samples() -> None:
    port = free_port()
    sent = np.arange(-300, 300, dtype=np.int16).reshape(-1, 2)
    src = TcpSource(
        "127.0.0.1", port, dtype="int16", channels=2, sample_rate=1e3, backoff=(0.01, 0.05)
    )
    stream = RealtimeStream.from_source(
        src, overflow="block", chunk_size=100, retry=RetryPolicy(max_retries=1000, backoff=0.01)
    )
    stream.start()
    deadline = time.monotonic() + DEADLINE
    while stream.health().source_errors < 1 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert stream.health().source_errors >= 1
    with socket.socket() as listener:  # the server comes up late, on the same port
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(1)
        listener.settimeout(DEADLINE)
        conn, _ = listener.accept()
        with conn:
            send_pieces(conn, sent.tobytes(), [5, 3])
            got, metas = collect(stream, len(sent))
            stream.stop()  # before the peer hangs up: the source would reconnect
    np.testing.assert_array_equal(got, sent)
    assert [m.start_index for m in metas] == list(range(0, len(sent), 100))
    assert not any(m.discontinuity for m in metas)  # nothing was sent before the first connect
    h = stream.health()
    assert h.source["connections"] == 1
    assert h.source["connect_failures"] == h.source_errors >= 1
    assert all(isinstance(r.error, SourceUnavailableError) for r in stream.errors)


def test_tcp_reset_with_reconnect_is_counted_then_reconnects() -> None:
    first = np.arange(10, dtype=np.float32)
    second = np.arange(10, 30, dtype=np.float32)

    def handler(conn: socket.socket, i: int) -> None:
        if i == 0:
            conn.sendall(first.tobytes())
            time.sleep(0.1)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            conn.sendall(second.tobytes())
            time.sleep(0.2)

    server = TcpPeer(handler, peers=2)
    src = TcpSource("127.0.0.1", server.port, sample_rate=1e3, backoff=(0.01, 0.05))
    stream = RealtimeStream.from_source(
        src, overflow="block", chunk_size=10, retry=RetryPolicy(max_retries=3, backoff=0.001)
    )
    with stream:
        got, metas = collect(stream, 30)
    server.close()
    np.testing.assert_array_equal(got, np.concatenate([first, second]))
    assert [m.start_index for m in metas if m.discontinuity] == [10]
    assert stream.health().source_errors == 1
    err = stream.errors[0].error
    assert isinstance(err, SourceError)
    assert f"127.0.0.1:{server.port}: connection lost" in str(err)
    assert "reset" in str(err).lower()
    assert src.health()["reconnects"] == 1


def test_tcp_leftover_bytes_at_end_are_reported() -> None:
    server = TcpPeer(lambda conn, _: conn.sendall(np.float32(2.5).tobytes() + b"\x00\x00"))
    src = TcpSource("127.0.0.1", server.port, sample_rate=1e3, reconnect=False)
    with RealtimeStream.from_source(src, overflow="block") as stream:
        got, _ = collect(stream)
        h = stream.health()
    server.close()
    np.testing.assert_array_equal(got, [2.5])
    assert h.state == "finished"
    assert h.source_errors == 1
    assert "2 leftover byte(s)" in h.last_error
    assert "whole frame of 4 bytes (float32 x 1 channel(s))" in h.last_error


def test_tcp_reset_without_reconnect_fails_the_stream() -> None:
    def handler(conn: socket.socket, _: int) -> None:
        conn.sendall(np.arange(10, dtype=np.float32).tobytes())
        time.sleep(0.1)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    server = TcpPeer(handler)
    src = TcpSource("127.0.0.1", server.port, sample_rate=1e3, reconnect=False)
    stream = RealtimeStream.from_source(
        src, overflow="block", chunk_size=10, retry=RetryPolicy(max_retries=1, backoff=0.001)
    )
    stream.start()
    chunks = []
    with pytest.raises(SourceError, match="connection lost"):
        for chunk in stream:
            chunks.append(chunk.data.copy())
    stream.stop()
    server.close()
    np.testing.assert_array_equal(np.concatenate(chunks), np.arange(10))


@pytest.mark.parametrize("mode", ["silent_peer", "listen_no_peer", "refused_backoff"])
def test_tcp_stop_is_prompt_when_nothing_arrives(mode: str) -> None:
    release = threading.Event()
    server = None
    if mode == "silent_peer":
        server = TcpPeer(lambda conn, _: release.wait(DEADLINE))
        src = TcpSource("127.0.0.1", server.port, sample_rate=1e3)
    elif mode == "listen_no_peer":
        src = TcpSource("127.0.0.1", 0, listen=True, sample_rate=1e3)
    else:
        src = TcpSource("127.0.0.1", free_port(), sample_rate=1e3, backoff=(1.0, 2.0))
    stream = RealtimeStream.from_source(src)
    stream.start()
    time.sleep(0.15)  # let acquire() block
    t0 = time.monotonic()
    stream.stop()
    elapsed = time.monotonic() - t0
    release.set()
    if server is not None:
        server.close()
    assert elapsed < 0.5
    assert not any(t.name.startswith("livetrace-acquire") for t in threading.enumerate())


def test_stop_does_not_wait_for_a_call_that_cannot_be_interrupted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A slow DNS lookup inside acquire() holds the I/O lock; stop() still returns within
    0.5 s, and acquire() returns None and closes on its way out once the lookup ends."""
    real = socket.getaddrinfo
    entered, release = threading.Event(), threading.Event()

    def slow_lookup(host: Any, *args: Any, **kw: Any) -> Any:
        if host == "slow.example":
            entered.set()
            release.wait(DEADLINE)
            return real("127.0.0.1", *args, **kw)
        return real(host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", slow_lookup)
    port = free_port()
    src = TcpSource("slow.example", port, sample_rate=1e3)
    out: list[Any] = []
    worker = threading.Thread(target=lambda: out.append(src.acquire()))
    worker.start()
    assert entered.wait(DEADLINE)
    t0 = time.monotonic()
    src.stop()
    elapsed = time.monotonic() - t0
    release.set()
    worker.join(DEADLINE)
    assert elapsed < 0.5
    assert not worker.is_alive()
    assert out == [None]
    assert src.health()["connected"] is False
    assert src.health()["connections"] == 0  # stopped: it did not go on to connect


def test_tcp_start_stop_start_reconnects_with_discontinuity() -> None:
    gate = threading.Event()

    def handler(conn: socket.socket, i: int) -> None:
        conn.sendall(np.full(50, i, dtype=np.float32).tobytes())
        if i == 0:
            gate.wait(DEADLINE)  # held open until the source hangs up
            conn.settimeout(DEADLINE)
            assert conn.recv(1) == b""  # the source closed the connection on stop()

    server = TcpPeer(handler, peers=2)
    src = TcpSource("127.0.0.1", server.port, sample_rate=1e3, backoff=(0.01, 0.05))
    stream = RealtimeStream.from_source(src, overflow="block", chunk_size=50)
    stream.start()
    a, _ = collect(stream, 50)
    stream.stop()
    gate.set()
    stream.start()
    b, metas = collect(stream, 50)
    stream.stop()
    server.close()
    np.testing.assert_array_equal(a, np.zeros(50))
    np.testing.assert_array_equal(b, np.ones(50))
    assert metas[0].discontinuity
    assert metas[0].start_index == 50


# ---------------------------------------------------------------------- TCP, server
def test_tcp_listen_accepts_next_peer_after_disconnect() -> None:
    src = TcpSource("127.0.0.1", 0, listen=True, dtype="int16", channels=2, sample_rate=1e3)
    src.start()
    port = src.address[1]  # type: ignore[index]  # bound by start()
    assert src.info.description.startswith(f"tcp://127.0.0.1:{port}?dtype=int16&channels=2")
    a = np.arange(600, dtype=np.int16).reshape(-1, 2)
    b = -np.arange(400, dtype=np.int16).reshape(-1, 2)

    def peers() -> None:
        for payload, extra in ((a, b"\x07"), (b, b"")):
            with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE) as c:
                send_pieces(c, payload.tobytes() + extra, [7, 1])
            time.sleep(0.05)

    sender = threading.Thread(target=peers)
    sender.start()
    stream = RealtimeStream.from_source(src, overflow="block", chunk_size=100)
    stream.start()
    got, metas = collect(stream, 500)
    stream.stop()
    sender.join(DEADLINE)
    np.testing.assert_array_equal(got, np.concatenate([a, b]).astype(np.float32))
    assert [m.start_index for m in metas if m.discontinuity] == [300]
    h = src.health()
    assert (h["connections"], h["reconnects"], h["discarded_bytes"]) == (2, 1, 1)


def test_tcp_listen_without_reconnect_ends_after_first_peer() -> None:
    src = TcpSource("127.0.0.1", 0, listen=True, sample_rate=1e3, reconnect=False)
    src.start()
    with socket.create_connection(src.address, timeout=DEADLINE) as c:  # type: ignore[arg-type]
        c.sendall(np.ones(8, dtype=np.float32).tobytes())
    with RealtimeStream.from_source(src, overflow="block", chunk_size=8) as stream:
        got, _ = collect(stream)
    np.testing.assert_array_equal(got, np.ones(8))
    assert stream.state == "finished"


def test_tcp_listen_on_a_taken_port_is_unavailable() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        src = TcpSource("127.0.0.1", port, listen=True, sample_rate=1e3)
        with pytest.raises(SourceUnavailableError, match=f"cannot listen on 127.0.0.1:{port}"):
            src.start()


# ---------------------------------------------------------------------- UDP
def udp_sender() -> socket.socket:
    return socket.socket(socket.AF_INET, socket.SOCK_DGRAM)


def drain(src: UdpSource, n_calls: int) -> list[Any]:
    out = []
    deadline = time.monotonic() + DEADLINE
    while len(out) < n_calls and time.monotonic() < deadline:
        got = src.acquire()
        if got is not None:
            out.append(got)
    return out


def test_udp_plain_datagrams_exact_through_stream() -> None:
    src = UdpSource("127.0.0.1", 0, dtype="int16", channels=2, sample_rate=1e3)
    src.start()
    sent = np.arange(-2000, 2000, dtype=np.int16).reshape(-1, 2)
    with udp_sender() as tx:
        for block in np.split(sent, 20):
            tx.sendto(block.tobytes(), src.address)  # type: ignore[arg-type]
    with RealtimeStream.from_source(src, overflow="block", chunk_size=100) as stream:
        got, metas = collect(stream, len(sent))
    np.testing.assert_array_equal(got, sent)
    assert not any(m.discontinuity for m in metas)
    assert src.health()["datagrams"] == 20


def seq_datagram(index: int, values: np.ndarray, header: str = "<Q") -> bytes:
    return struct.pack(header, index) + values.astype("<f4").tobytes()


def test_udp_seq_lost_and_late_datagrams_become_exact_gaps() -> None:
    src = UdpSource("127.0.0.1", 0, sample_rate=1e3, seq=True)
    src.start()
    base = 10_000  # the sender's count need not start at 0
    blocks = [np.arange(i * 100, (i + 1) * 100, dtype=np.float32) for i in range(8)]
    order = [0, 1, 3, 2, 4, 4, 7]  # 2 late (dropped), 4 twice (dropped), 5 and 6 lost
    with udp_sender() as tx:
        for i in order:
            tx.sendto(seq_datagram(base + 100 * i, blocks[i]), src.address)  # type: ignore[arg-type]
    stream = RealtimeStream.from_source(src, overflow="block", chunk_size=100)
    stream.start()
    got, metas = collect(stream, 500)
    stream.stop()
    np.testing.assert_array_equal(got, np.concatenate([blocks[i] for i in (0, 1, 3, 4, 7)]))
    assert [(m.start_index, m.gap) for m in metas] == [
        (0, 0),
        (100, 0),
        (300, 100),
        (400, 0),
        (700, 200),
    ]
    h = src.health()
    assert (h["lost_samples"], h["gaps"], h["late_datagrams"], h["late_samples"]) == (
        300,
        2,
        2,
        200,
    )
    assert stream.get_buffer_stats().source_gap == 300


def test_udp_seq_u32_wraps_and_partial_overlap_and_restart() -> None:
    src = UdpSource("127.0.0.1", 0, sample_rate=1e3, seq="u32", reorder_window=60)
    src.start()
    start = (1 << 32) - 150
    x = np.arange(400, dtype=np.float32)
    with udp_sender() as tx:
        addr = src.address
        tx.sendto(seq_datagram(start, x[:100], "<I"), addr)  # type: ignore[arg-type]
        tx.sendto(seq_datagram((start + 100) % (1 << 32), x[100:200], "<I"), addr)  # type: ignore[arg-type]
        tx.sendto(seq_datagram((start + 150) % (1 << 32), x[150:250], "<I"), addr)  # type: ignore[arg-type]
        tx.sendto(seq_datagram(5, x[:10], "<I"), addr)  # type: ignore[arg-type]
        got = drain(src, 4)
    assert [b.start_index for b in got] == [0, 100, 200, 250]
    np.testing.assert_array_equal(got[2].data, x[200:250])  # overlap cut off
    np.testing.assert_array_equal(got[3].data, x[:10])
    assert [b.discontinuity for b in got] == [False, False, False, True]
    h = src.health()
    assert (h["late_samples"], h["sender_restarts"], h["lost_samples"]) == (50, 1, 0)
    src.stop()


def test_udp_one_far_datagram_among_good_ones_is_rejected_not_a_gap() -> None:
    # a corrupted/spoofed header 10**15 ahead: without a bound, a 10**15-sample gap
    src = UdpSource("127.0.0.1", 0, sample_rate=1e3, seq="u64")
    assert src.max_gap == 10_000  # ten seconds at the rate
    src.start()
    x = np.arange(500, dtype=np.float32)
    with udp_sender() as tx:
        addr = src.address
        tx.sendto(seq_datagram(0, x[:100]), addr)  # type: ignore[arg-type]
        tx.sendto(seq_datagram(10**15, np.full(100, -1, np.float32)), addr)  # type: ignore[arg-type]
        tx.sendto(seq_datagram(100, x[100:200]), addr)  # type: ignore[arg-type]
        tx.sendto(seq_datagram(300, x[300:400]), addr)  # type: ignore[arg-type]  # 200..299 lost
        got = drain(src, 3)
    assert [(b.start_index, b.discontinuity) for b in got] == [
        (0, False),
        (100, False),
        (300, False),
    ]
    np.testing.assert_array_equal(np.concatenate([b.data for b in got]), np.r_[x[:200], x[300:400]])
    h = src.health()
    assert (h["rejected_datagrams"], h["rejected_samples"], h["resyncs"]) == (1, 100, 0)
    assert (h["lost_samples"], h["gaps"]) == (100, 1)  # the real loss stays exact
    src.stop()


def test_udp_far_jump_that_stands_is_a_discontinuity_of_unknown_size() -> None:
    src = UdpSource("127.0.0.1", 0, sample_rate=1e3, seq="u64", max_gap=1000)
    src.start()
    x = np.arange(400, dtype=np.float32)
    far = 10**15
    stream = RealtimeStream.from_source(src, overflow="block", chunk_size=100)
    with stream, udp_sender() as tx:
        addr = src.address
        tx.sendto(seq_datagram(0, x[:100]), addr)  # type: ignore[arg-type]
        tx.sendto(seq_datagram(far, x[100:200]), addr)  # type: ignore[arg-type]
        time.sleep(0.2)  # nothing contradicts it: the source resynchronises on it
        tx.sendto(seq_datagram(far + 100, x[200:300]), addr)  # type: ignore[arg-type]
        tx.sendto(seq_datagram(far + 250, x[250:350]), addr)  # type: ignore[arg-type]  # 50 lost
        got, metas = collect(stream, 350)
    np.testing.assert_array_equal(got, np.r_[x[:300], x[250:350]])
    # positions continue plausibly after the jump, and exactly after the resync
    assert [(m.start_index, m.gap, m.discontinuity) for m in metas] == [
        (0, 0, False),
        (100, 0, True),  # samples may be missing here, how many is unknown
        (200, 0, False),
        (350, 50, True),
    ]
    h = src.health()
    assert (h["resyncs"], h["sender_restarts"], h["rejected_datagrams"]) == (1, 0, 0)
    assert h["lost_samples"] == 50
    assert stream.get_buffer_stats().source_gap == 50


def test_udp_sender_restart_resynchronises_on_the_second_datagram() -> None:
    src = UdpSource("127.0.0.1", 0, sample_rate=1e3, seq="u64", reorder_window=1000)
    src.start()
    x = np.arange(600, dtype=np.float32)
    base = 50_000
    with udp_sender() as tx:
        addr = src.address
        for i in range(2):
            tx.sendto(seq_datagram(base + 100 * i, x[100 * i : 100 * (i + 1)]), addr)  # type: ignore[arg-type]
        # the sender restarts its count at 0: two datagrams in a row confirm it
        tx.sendto(seq_datagram(0, x[200:300]), addr)  # type: ignore[arg-type]
        tx.sendto(seq_datagram(100, x[300:400]), addr)  # type: ignore[arg-type]
        tx.sendto(seq_datagram(300, x[500:600]), addr)  # type: ignore[arg-type]  # 200..299 lost
        # a lone stale datagram of the old count is dropped, not another resync
        tx.sendto(seq_datagram(base, x[:100]), addr)  # type: ignore[arg-type]
        tx.sendto(seq_datagram(400, x[:100]), addr)  # type: ignore[arg-type]
        got = drain(src, 5)
    assert [(b.start_index, len(b.data), b.discontinuity) for b in got] == [
        (0, 100, False),
        (100, 100, False),
        (200, 200, True),  # the held datagram and the one that confirmed it
        (500, 100, False),
        (600, 100, False),
    ]
    np.testing.assert_array_equal(got[2].data, x[200:400])
    h = src.health()
    assert (h["resyncs"], h["sender_restarts"], h["rejected_datagrams"]) == (1, 1, 1)
    assert (h["lost_samples"], h["held_samples"]) == (100, 0)
    src.stop()


def test_udp_restart_confirmed_across_a_loss_keeps_the_loss_exact() -> None:
    src = UdpSource("127.0.0.1", 0, sample_rate=1e3, seq="u32", reorder_window=10)
    src.start()
    x = np.arange(300, dtype=np.float32)
    with udp_sender() as tx:
        addr = src.address
        tx.sendto(seq_datagram(7000, x[:100], "<I"), addr)  # type: ignore[arg-type]
        tx.sendto(seq_datagram(0, x[100:200], "<I"), addr)  # type: ignore[arg-type]
        tx.sendto(seq_datagram(130, x[200:300], "<I"), addr)  # type: ignore[arg-type]
        got = drain(src, 3)
    assert [(b.start_index, b.discontinuity) for b in got] == [
        (0, False),
        (100, True),
        (230, False),
    ]
    assert (src.health()["lost_samples"], src.health()["resyncs"]) == (30, 1)
    src.stop()


def test_udp_bad_and_oversize_datagrams_are_counted() -> None:
    src = UdpSource("127.0.0.1", 0, sample_rate=1e3, seq="u64", max_datagram=8 + 40)
    src.start()
    with udp_sender() as tx:
        addr = src.address
        tx.sendto(b"\x01\x02", addr)  # shorter than the header
        tx.sendto(seq_datagram(0, np.arange(4, dtype=np.float32)) + b"\x09", addr)  # type: ignore[arg-type]
        tx.sendto(seq_datagram(4, np.arange(20, dtype=np.float32)), addr)  # type: ignore[arg-type]
        tx.sendto(seq_datagram(4, np.arange(3, dtype=np.float32)), addr)  # type: ignore[arg-type]
        got = drain(src, 2)
    np.testing.assert_array_equal(got[0].data, np.arange(4))
    assert got[1].start_index == 4
    np.testing.assert_array_equal(got[1].data, np.arange(3))
    h = src.health()
    assert (h["bad_datagrams"], h["discarded_bytes"], h["oversize_datagrams"]) == (2, 3, 1)
    src.stop()


def test_udp_stop_is_prompt_with_no_sender_and_restart_rebinds_same_port() -> None:
    src = UdpSource("127.0.0.1", 0, sample_rate=1e3)
    stream = RealtimeStream.from_source(src, chunk_size=100)
    stream.start()
    port = src.address[1]  # type: ignore[index]  # bound by start()
    time.sleep(0.15)
    t0 = time.monotonic()
    stream.stop()
    assert time.monotonic() - t0 < 0.5
    stream.start()
    assert src.address[1] == port  # type: ignore[index]  # bound by start()
    with udp_sender() as tx:
        tx.sendto(np.arange(300, dtype=np.float32).tobytes(), ("127.0.0.1", port))
    got, metas = collect(stream, 300)
    stream.stop()
    np.testing.assert_array_equal(got, np.arange(300))
    assert metas[0].discontinuity  # datagrams sent while stopped were not received


def test_udp_bind_taken_port_is_unavailable() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        with pytest.raises(
            SourceUnavailableError, match=f"UdpSource: cannot bind 127.0.0.1:{port}"
        ):
            UdpSource("127.0.0.1", port, sample_rate=1).start()


# ---------------------------------------------------------------------- URIs and bad values
def test_tcp_uri_builds_the_described_source() -> None:
    src = open_source(
        "tcp://127.0.0.1:9000?dtype=int16&channels=2&sample_rate=1e6&byteorder=big"
        "&reconnect=0&connect_timeout=0.5&backoff=0.1&backoff_max=1"
    )
    assert isinstance(src, TcpSource)
    assert (src.host, src.port, src.reconnect, src.listen) == ("127.0.0.1", 9000, False, False)
    assert src.backoff == (0.1, 1.0)
    assert src.connect_timeout == 0.5
    info = src.info
    assert (info.sample_rate, info.dtype, info.n_channels, info.finite) == (1e6, "int16", 2, False)
    assert info.description == (  # the URI that recreates the source
        "tcp://127.0.0.1:9000?dtype=int16&channels=2&sample_rate=1e6&byteorder=big"
        "&reconnect=0&connect_timeout=0.5&backoff=0.1&backoff_max=1"
    )
    assert TcpSource("127.0.0.1", 9000, sample_rate=1e6).info.description == (
        "tcp://127.0.0.1:9000?dtype=float32&channels=1&sample_rate=1e+06"
    )
    listen = open_source("tcp://[::1]:0?sample_rate=10&listen=1")
    assert isinstance(listen, TcpSource)
    assert (listen.host, listen.listen) == ("::1", True)


def test_udp_uri_builds_the_described_source() -> None:
    src = open_source("udp://127.0.0.1:9001?dtype=float32&sample_rate=1e6&seq=u32&channels=4")
    assert isinstance(src, UdpSource)
    assert (src.seq, src.header, src.info.n_channels) == ("u32", 4, 4)
    src2 = open_source("udp://127.0.0.1:9001?sample_rate=1e6&seq=1")
    assert isinstance(src2, UdpSource)
    assert src2.seq == "u64"
    src3 = open_source("udp://127.0.0.1:9001?sample_rate=1e6")
    assert isinstance(src3, UdpSource)
    assert src3.seq is None
    assert src3.max_gap == 10_000_000  # ten seconds of samples
    src4 = open_source("udp://127.0.0.1:9001?sample_rate=1e3&seq=1&max_gap=500")
    assert isinstance(src4, UdpSource)
    assert src4.max_gap == 500


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("tcp://127.0.0.1:9000?dtype=float32", "sample_rate is required"),
        ("udp://127.0.0.1:9000", "sample_rate is required"),
        ("tcp://127.0.0.1:9000?sample_rate=1&colour=red", "unknown parameter.*colour.*accepted"),
        ("udp://127.0.0.1:9000?sample_rate=1&speed=2", "unknown parameter.*speed.*seq"),
        ("tcp://127.0.0.1?sample_rate=1", "expected tcp://HOST:PORT"),
        ("tcp://127.0.0.1:99999?sample_rate=1", "port must be in 0..65535"),
        ("tcp://127.0.0.1:9000?sample_rate=1&channels=two", "channels='two' is invalid"),
        ("tcp://127.0.0.1:9000?sample_rate=-5", "sample_rate must be positive"),
        ("tcp://127.0.0.1:9000?sample_rate=1&dtype=banana", "dtype must be a numpy"),
        ("tcp://127.0.0.1:9000?sample_rate=1&dtype=str", "dtype must be integer, float"),
        ("tcp://127.0.0.1:9000?sample_rate=1&byteorder=middle", "byteorder must be one of"),
        ("tcp://127.0.0.1:9000?sample_rate=1&listen=maybe", "listen='maybe' is invalid"),
        ("udp://127.0.0.1:9000?sample_rate=1&seq=u16", "seq='u16' is invalid"),
        ("udp://127.0.0.1:9000?sample_rate=1&max_datagram=70000", "max_datagram must be"),
        ("udp://127.0.0.1:9000?sample_rate=1&max_gap=0", "max_gap must be an integer >= 1"),
        ("tcp://127.0.0.1:0?sample_rate=1", "client needs the server's port"),
    ],
)
def test_bad_socket_uris_say_what_is_wrong(uri: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        open_source(uri)


def test_bad_constructor_values() -> None:
    with pytest.raises(ConfigurationError, match=r"backoff must be \(initial, max\)"):
        TcpSource("127.0.0.1", 1, sample_rate=1, backoff=(2.0, 1.0))
    with pytest.raises(ConfigurationError, match="channels must be an integer >= 1, got 0"):
        UdpSource(sample_rate=1, channels=0)
    with pytest.raises(ConfigurationError, match="recv_size must hold at least one frame"):
        TcpSource("127.0.0.1", 1, sample_rate=1, dtype="float64", recv_size=4)


def test_tcp_survives_an_instrument_reboot() -> None:
    """The peer closes, refuses connections for a while (rebooting), then comes back on the
    same port: the stream keeps reconnecting with backoff, shows it, and goes on."""
    port = free_port()
    first = np.arange(100, dtype=np.float32)
    second = np.arange(100, 200, dtype=np.float32)

    def serve_once(payload: np.ndarray) -> None:
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", port))
            sock.listen(1)
            sock.settimeout(DEADLINE)
            conn, _ = sock.accept()
            with conn:
                conn.sendall(payload.tobytes())

    src = TcpSource("127.0.0.1", port, sample_rate=1e3, backoff=(0.02, 0.1))
    stream = RealtimeStream.from_source(src, overflow="block", chunk_size=100)
    got: list[tuple[int, bool]] = []
    seen_reconnecting = False
    server = threading.Thread(target=serve_once, args=(first,))
    server.start()
    with stream:
        it = iter(stream)
        chunk = next(it)
        got.append((chunk.start_index, chunk.metadata.discontinuity))
        server.join(DEADLINE)
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:  # the instrument is down: refused, again and again
            h = stream.health().source
            if h["reconnecting"] and h["reconnect_attempts"] >= 3:
                seen_reconnecting = True
                break
            time.sleep(0.01)
        assert stream.state == "running"  # not failed after a few refusals
        server = threading.Thread(target=serve_once, args=(second,))
        server.start()
        chunk = next(it)
        got.append((chunk.start_index, chunk.metadata.discontinuity))
        np.testing.assert_array_equal(chunk.data, second)
        server.join(DEADLINE)
    assert seen_reconnecting
    assert got == [(0, False), (100, True)]  # the splice is flagged
    assert stream.health().source["reconnects"] >= 1  # (a late reconnect may also land)


def test_tcp_without_reconnect_finishes_on_a_clean_close() -> None:
    def handler(conn: socket.socket, _: int) -> None:
        conn.sendall(np.arange(50, dtype=np.float32).tobytes())

    server = TcpPeer(handler)
    src = TcpSource("127.0.0.1", server.port, sample_rate=1e3, reconnect=False)
    stream = RealtimeStream.from_source(src, overflow="block", chunk_size=50)
    with stream:
        chunks = list(stream)
    server.close()
    assert [len(c) for c in chunks] == [50]
    assert stream.state == "finished"
