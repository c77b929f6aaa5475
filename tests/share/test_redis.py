"""RedisPublisher and RedisSource against a real redis-server on a loopback port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _feeding import feeding

from livetrace import (
    ConfigurationError,
    EndOfStream,
    RealtimeStream,
    SourceUnavailableError,
    TraceMetadata,
    WaveformTrace,
)
from livetrace.sinks import RedisPublisher
from livetrace.sources import ArraySource, RedisSource, SourceInfo, open_source
from livetrace.testing import check_source

redis = pytest.importorskip("redis")

HERE = Path(__file__).parent
SRC = str(Path(__file__).parents[2] / "src")
DEADLINE = 20.0
RATE = 100_000.0
INFO = SourceInfo(
    sample_rate=RATE,
    dtype="float64",
    n_channels=2,
    channel_names=("x", "y"),
    units=("V", "A"),
    start_time=1000.0,
)


def key() -> str:
    return f"lt-{uuid.uuid4().hex[:10]}"


def ramp(start: int, n: int, gap: int = 0) -> WaveformTrace:
    data = np.arange(start, start + n, dtype=np.float64)[:, None] * np.array([1.0, -1.0])
    md = TraceMetadata(
        sample_rate=RATE,
        start_index=start,
        start_time=1000.0 + start / RATE,
        gap=gap,
        discontinuity=gap > 0,
    )
    return WaveformTrace(data, md)


def check_ramp(data: np.ndarray, first: int) -> None:
    expect = np.arange(first, first + len(data), dtype=np.float64)
    np.testing.assert_array_equal(data[:, 0], expect)
    np.testing.assert_array_equal(data[:, 1], -expect)


class Feeder:
    """Writes ``chunks`` ramp chunks of ``n`` samples to ``pub`` from a thread."""

    def __init__(self, pub: RedisPublisher, chunks: int, n: int, pause: float) -> None:
        self.pub, self.chunks, self.n, self.pause = pub, chunks, n, pause
        self.written = 0
        self.thread = threading.Thread(target=self._run)
        self.thread.start()

    def _run(self) -> None:
        for k in range(self.chunks):
            self.pub.write(ramp(k * self.n, self.n))
            self.written = (k + 1) * self.n
            time.sleep(self.pause)

    def join(self) -> None:
        self.thread.join(DEADLINE)
        assert not self.thread.is_alive()


def read_all(src: RedisSource) -> list[Any]:
    """Blocks until EndOfStream (each checked against the ramp, in the source's numbering)."""
    out = []
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        try:
            block = src.acquire()
        except EndOfStream:
            return out
        if block is not None:
            out.append(block)
    raise AssertionError("the stream did not end in time")


@pytest.fixture
def publisher(redis_server: Any) -> Iterator[RedisPublisher]:
    pub = RedisPublisher(redis_server.url, key(), heartbeat=0.2)
    yield pub
    pub.close()


def test_ramp_exact_end_to_end_two_readers_and_a_stream(
    redis_server: Any, publisher: RedisPublisher
) -> None:
    publisher.open(INFO)
    url = f"{redis_server.url}/{publisher.key}"
    readers = [open_source(f"{url}?from=start") for _ in range(2)]
    stream = RealtimeStream.from_source(open_source(f"{url}?from=start"), chunk_size=3000)
    results: list[Any] = [None, None]

    def run(i: int) -> None:
        results[i] = read_all(readers[i])  # type: ignore[arg-type]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    feeder = Feeder(publisher, 60, 1000, 0.002)
    got: list[WaveformTrace] = []
    with stream:
        feeder.join()
        publisher.close()
        for chunk in stream:
            got.append(chunk)
    for t in threads:
        t.join(DEADLINE)
    for blocks in results:
        data = np.concatenate([b.data for b in blocks])
        assert len(data) == 60_000
        check_ramp(data, 0)
        assert [b.start_index for b in blocks] == list(range(0, 60_000, 1000))
        assert not any(b.discontinuity for b in blocks)
    for r in readers:
        assert r.health()["publisher"] == "ended"
        assert r.health()["lost_samples"] == 0
        r.close()  # type: ignore[attr-defined]
    data = np.concatenate([c.data for c in got])
    check_ramp(data, 0)
    assert len(data) == 60_000
    md = got[1].metadata
    assert md.channel_names == ("x", "y")
    assert md.units == ("V", "A")
    assert md.start_time == pytest.approx(1000.0 + md.start_index / RATE)
    assert all(c.metadata.gap == 0 for c in got)
    stream.source.close()  # type: ignore[attr-defined]


def test_entry_ids_carry_the_sample_index(redis_server: Any) -> None:
    """XRANGE seeks by sample index; the description is in KEY:info."""
    k = key()
    with RedisPublisher(redis_server.url, k) as pub:
        pub.open(INFO)
        for i in range(5):
            pub.write(ramp(i * 1000, 1000))
    client = redis.Redis.from_url(redis_server.url)
    try:
        first = client.xrange(k, "2500", "+", count=1)[0]
        assert first[0] == b"3000-1"
        assert int(first[1][b"i"]) == 3000
        assert int(first[1][b"n"]) == 1000
        samples = np.frombuffer(first[1][b"d"], "<f8").reshape(1000, 2)
        check_ramp(samples, 3000)
        before = client.xrevrange(k, "2500", "-", count=1)[0]
        assert before[0] == b"2000-1"  # the entry holding sample 2500
        last = client.xrevrange(k, "+", "-", count=1)[0]
        assert last[0] == b"5000-2"
        assert int(last[1][b"f"]) == 2  # end of stream
        assert b'"channel_names": ["x", "y"]' in client.get(f"{k}:info")
    finally:
        client.close()
    src = RedisSource(redis_server.url, k, start=2500)
    blocks = read_all(src)
    src.close()
    assert blocks[0].start_index == 0
    check_ramp(np.concatenate([b.data for b in blocks]), 2500)
    assert src.health()["origin"] == 2500


def test_reader_behind_retention_sees_an_exact_gap(redis_server: Any) -> None:
    k = key()
    with RedisPublisher(redis_server.url, k, maxlen_samples=10_000, approximate=False) as pub:
        pub.open(INFO)
        for i in range(100):
            pub.write(ramp(i * 1000, 1000))
        deadline = time.monotonic() + DEADLINE
        while pub.health()["entries"] < 100:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        src = RedisSource(redis_server.url, k, start="start")
        first = src.acquire()
    assert first is not None
    rest = read_all(src)
    src.close()
    blocks = [first, *rest]
    h = src.health()
    total = sum(len(b.data) for b in blocks)
    assert blocks[0].start_index == 89_000  # MINID 99000 - 10000: whole entries from 89000
    assert blocks[0].discontinuity
    assert h["lost_samples"] == 89_000
    assert h["gaps"] == 1
    assert total + h["lost_samples"] == 100_000
    check_ramp(np.concatenate([b.data for b in blocks]), 89_000)


def worker_child(url: str, k: str, consumer: str, hang_after: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "_redis_worker.py"), url, k, "g", consumer, str(hang_after)],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=SRC),
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_consumer_group_shares_work_and_a_killed_worker_loses_nothing(
    redis_server: Any, publisher: RedisPublisher
) -> None:
    """Three workers share the entries; one hangs mid-entry and is killed; restarted under
    the same name it first re-reads what it had not acknowledged. Every sample is handled."""
    publisher.open(INFO)
    url = f"{redis_server.url}/{publisher.key}"
    child = worker_child(redis_server.url, publisher.key, "w1", hang_after=3)
    workers = {c: open_source(f"{url}?group=g&consumer={c}") for c in ("w2", "w3")}
    got: dict[str, list[Any]] = {}

    def run(name: str, src: Any) -> None:
        got[name] = read_all(src)

    threads = [threading.Thread(target=run, args=(c, s)) for c, s in workers.items()]
    for t in threads:
        t.start()
    feeder = Feeder(publisher, 120, 500, 0.003)
    assert child.stdout is not None
    child_seen = []
    for line in child.stdout:
        if line.strip() == "hang":
            break
        start, n = map(int, line.split())
        child_seen.append((start, n))
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=DEADLINE)
    restarted = RedisSource(redis_server.url, publisher.key, group="g", consumer="w1")
    threads.append(threading.Thread(target=run, args=("w1", restarted)))
    threads[-1].start()
    feeder.join()
    publisher.close()
    for t in threads:
        t.join(DEADLINE)
    assert restarted.health()["redelivered"] >= 1
    assert len(child_seen) == 3
    covered = np.zeros(60_000, dtype=int)
    for start, n in child_seen:
        covered[start : start + n] += 1
    for name, blocks in got.items():
        assert blocks, f"worker {name} got nothing"
        for b in blocks:
            check_ramp(b.data, b.start_index)  # workers keep the publisher's numbering
            covered[b.start_index : b.start_index + len(b.data)] += 1
    assert covered.min() == 1  # nothing lost
    # only the entry the killed worker was processing may have been handled twice
    assert covered.sum() - 60_000 <= 500
    for src in (restarted, *workers.values()):
        src.close()  # type: ignore[attr-defined]


def stream_through_outage(
    url: str, outage: Callable[[], None], **publisher_args: Any
) -> tuple[RedisPublisher, RedisSource, list[Any]]:
    """300 ramp chunks of 1000 samples published at about 250 chunks/s while a source reads
    them all; ``outage()`` runs once 60,000 samples were written. Returns the publisher, the
    source and its blocks, once both have ended."""
    k = key()
    pub = RedisPublisher(url, k, heartbeat=0.2, backoff=0.02, max_backoff=0.2, **publisher_args)
    pub.open(INFO)
    src = RedisSource(url, k, start="start")
    out: list[Any] = []
    reader = threading.Thread(target=lambda: out.extend(read_all(src)))
    reader.start()
    feeder = Feeder(pub, 300, 1000, 0.004)
    deadline = time.monotonic() + DEADLINE
    while feeder.written < 60_000:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    outage()
    feeder.join()
    pub.close()
    reader.join(DEADLINE)
    src.close()
    return pub, src, out


def test_server_restart_mid_stream_is_a_counted_gap(own_redis_server: Any) -> None:
    server = own_redis_server

    def restart() -> None:
        server.stop()
        time.sleep(0.3)
        server.start()

    pub, src, out = stream_through_outage(server.url, restart)
    h = src.health()
    total = sum(len(b.data) for b in out)
    for b in out:
        check_ramp(b.data, b.start_index)  # nothing torn, nothing invented
    assert pub.health()["failures"] >= 1
    assert h["lost_samples"] > 0
    assert h["reconnects"] >= 1
    assert total + h["lost_samples"] == 300_000  # every sample delivered or counted
    jumps = [b for b in out if b.discontinuity]
    assert jumps, "the loss was not flagged"


def test_killed_publisher_is_visible_in_health(redis_server: Any, tmp_path: Path) -> None:
    """``livetrace publish`` to Redis and shared memory at once, killed with SIGKILL."""
    k = key()
    shm_name = k.replace("-", "")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "livetrace",
            "publish",
            "sim:sine?sample_rate=20000",
            "--to",
            f"{redis_server.url}/{k}",
            "--to",
            f"shm://{shm_name}",
            "--maxlen-seconds",
            "5",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=SRC),
    )
    try:
        assert proc.stderr is not None
        assert proc.stderr.readline().startswith("publishing")
        rsrc = open_source(f"{redis_server.url}/{k}")
        ssrc = open_source(f"shm://{shm_name}?timeout=0.5")
        for s in (rsrc, ssrc):
            block = None
            while block is None:
                block = s.acquire()
            assert len(block.data) > 0
        assert rsrc.health()["publisher"] == "running"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=DEADLINE)
    killed = time.monotonic()
    while rsrc.health()["publisher"] != "lost":
        assert time.monotonic() - killed < 5.0
        rsrc.acquire()  # drains what was published, then waits 50 ms per call
    while ssrc.health()["publisher"] != "lost":
        assert time.monotonic() - killed < 5.0
        ssrc.read(timeout=0.05)  # type: ignore[attr-defined]
    rsrc.close()  # type: ignore[attr-defined]


def test_check_source_conformance(redis_server: Any, publisher: RedisPublisher) -> None:
    publisher.open(INFO)
    made: list[RedisSource] = []

    def factory() -> RedisSource:
        made.append(RedisSource(redis_server.url, publisher.key))
        return made[-1]

    try:
        with feeding(publisher.write, ramp):
            report = check_source(factory, n_chunks=4)
        assert report.ok, str(report)
    finally:
        for s in made:
            s.close()


def test_errors(redis_server: Any) -> None:
    with pytest.raises(SourceUnavailableError, match="nothing is published"):
        open_source(f"{redis_server.url}/{key()}")
    with pytest.raises(ConfigurationError, match="no stream key"):
        open_source(redis_server.url)
    with pytest.raises(ConfigurationError):
        RedisSource(redis_server.url, "k", start="middle")
    with pytest.raises(ConfigurationError, match="not both"):
        RedisPublisher(redis_server.url, "k", maxlen_samples=1, maxlen_seconds=1.0)
    pub = RedisPublisher("redis://127.0.0.1:1/k")
    with pytest.raises(SourceUnavailableError, match="cannot reach"):
        pub.open(INFO)


def test_publisher_as_a_stream_sink(redis_server: Any) -> None:
    k = key()
    data = np.arange(20_000, dtype=np.float32)
    pub = RedisPublisher(f"{redis_server.url}/{k}", maxlen_seconds=100.0)
    stream = RealtimeStream.from_source(
        ArraySource(data, chunk_size=1000, sample_rate=1000.0), chunk_size=1000, sinks=[pub]
    )
    with stream:
        stream.run()
    src = RedisSource(redis_server.url, k, start="start")
    blocks = read_all(src)
    src.close()
    np.testing.assert_array_equal(np.concatenate([b.data for b in blocks]), data)
    assert src.info.dtype == "float32"
    # a publisher restarted on the same key continues the numbering after a discontinuity
    with RedisPublisher(redis_server.url, k) as again:
        again.open(SourceInfo(sample_rate=1000.0, dtype="float32"))
        again.write(WaveformTrace(data[:10], TraceMetadata(1000.0, start_index=0)))
    src = RedisSource(redis_server.url, k, start=20_001)  # after the end entry at 20000
    blocks = read_all(src)
    src.close()
    assert blocks[0].discontinuity
    np.testing.assert_array_equal(blocks[0].data, data[:10])


def test_acknowledger_acknowledges_after_delivery(redis_server: Any) -> None:
    """With the acknowledger as the last sink, entries are acknowledged once the stream
    delivered them, and nothing stays pending at the end."""
    k = key()
    with RedisPublisher(redis_server.url, k) as pub:
        pub.open(INFO)
        for i in range(20):
            pub.write(ramp(i * 500, 500))
    src = RedisSource(redis_server.url, k, start="start", group="g", consumer="solo")
    seen: list[int] = []
    stream = RealtimeStream.from_source(src, chunk_size=500)
    stream.add_sink(src.acknowledger())
    with stream:
        for chunk in stream:
            check_ramp(chunk.data, chunk.metadata.start_index)
            seen.append(chunk.metadata.start_index)
    assert seen == list(range(0, 10_000, 500))
    client = redis.Redis.from_url(redis_server.url)
    try:
        assert client.xpending(k, "g")["pending"] == 0
    finally:
        client.close()
    assert src.health()["acknowledged"] == 21  # 20 entries and the end of the stream
    src.close()


def test_password_in_the_url(make_redis_server: Any) -> None:
    server = make_redis_server("--requirepass", "s3cret")
    k = key()
    url = f"redis://:s3cret@127.0.0.1:{server.port}"
    with RedisPublisher(f"{url}/{k}") as pub:
        pub.open(INFO)
        pub.write(ramp(0, 100))
    src = open_source(f"{url}/{k}?from=start")
    blocks = read_all(src)  # type: ignore[arg-type]
    src.close()  # type: ignore[attr-defined]
    check_ramp(blocks[0].data, 0)
    with pytest.raises(SourceUnavailableError, match="(?i)auth"):
        open_source(f"redis://127.0.0.1:{server.port}/{k}")


class Proxy:
    """A TCP relay to ``port`` on 127.0.0.1 whose link can be cut and restored (network loss)."""

    def __init__(self, port: int) -> None:
        import socket

        self.target = port
        probe = socket.create_server(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.conns: list[Any] = []  # open links, shut down by cut()
        self.sockets: list[Any] = []  # every socket, closed by close()
        self.threads: list[threading.Thread] = []
        self.lock = threading.Lock()
        self.listener: Any = None
        self.restore()

    def restore(self) -> None:
        import socket

        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.sockets.append(self.listener)
        self._spawn(self._accept, self.listener)

    def _spawn(self, fn: Any, *args: Any) -> None:
        t = threading.Thread(target=fn, args=args)
        self.threads.append(t)
        t.start()

    def _accept(self, listener: Any) -> None:
        import socket

        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed by cut()
            server = socket.create_connection(("127.0.0.1", self.target))
            with self.lock:
                self.conns += [client, server]
                self.sockets += [client, server]
            self._spawn(self._pump, client, server)
            self._spawn(self._pump, server, client)

    @staticmethod
    def _pump(src: Any, dst: Any) -> None:
        while True:
            try:
                data = src.recv(1 << 16)
                if not data:
                    break
                dst.sendall(data)
            except OSError:
                break
        for s in (src, dst):
            try:
                s.shutdown(2)
            except OSError:
                continue  # already shut down by the other direction

    def cut(self) -> None:
        import socket

        self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() (close() alone does not)
        self.listener.close()
        with self.lock:
            conns, self.conns = self.conns, []
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                continue  # the peer closed it already

    def close(self) -> None:
        self.cut()
        for t in self.threads:
            t.join(DEADLINE)
        for s in self.sockets:
            s.close()


def test_network_loss_is_a_counted_gap(redis_server: Any) -> None:
    """The link to Redis is cut for a while: the publisher drops and counts, the reader
    reconnects, and the reader's gap is exactly what never reached the server."""
    proxy = Proxy(redis_server.port)

    def cut() -> None:
        proxy.cut()
        time.sleep(0.3)
        proxy.restore()

    try:
        # a queue of 4 entries cannot bridge a 0.3 s outage at 250 entries/s: some are dropped
        pub, src, out = stream_through_outage(f"redis://127.0.0.1:{proxy.port}", cut, max_pending=4)
    finally:
        proxy.close()
    h = src.health()
    total = sum(len(b.data) for b in out)
    for b in out:
        check_ramp(b.data, b.start_index)
    assert pub.health()["failures"] >= 1
    assert 0 < h["lost_samples"] <= pub.health()["lost_samples"]
    assert total + h["lost_samples"] == 300_000


ROUND_TRIP = """
import sys
if sys.argv[3] == "block":
    sys.modules["hiredis"] = None  # as if hiredis were not installed
import numpy as np
import redis.connection
from livetrace import EndOfStream, TraceMetadata, WaveformTrace
from livetrace.sinks import RedisPublisher
from livetrace.sources import RedisSource, SourceInfo

url, key = sys.argv[1:3]
pub = RedisPublisher(url, key)
pub.open(SourceInfo(sample_rate=1e3, dtype="float32"))
src = RedisSource(url, key, start="start")
for k in range(5):
    pub.write(WaveformTrace(np.arange(k * 5000, (k + 1) * 5000, dtype=np.float32),
                            TraceMetadata(1e3, start_index=k * 5000)))
pub.close()
got = []
while True:
    try:
        block = src.acquire()
    except EndOfStream:
        break
    if block is not None:
        got.append(block.data)
data = np.concatenate(got)
assert np.array_equal(data, np.arange(25000, dtype=np.float32)), data
print("hiredis", redis.connection.HIREDIS_AVAILABLE, "samples", len(data))
"""


@pytest.mark.parametrize("hiredis", ["block", "as-installed"])
def test_round_trip_with_and_without_hiredis(redis_server: Any, hiredis: str) -> None:
    """The transport works with redis-py's pure-Python parser and packer (no hiredis) and with
    whatever is installed; 20 KB values cross the packer's no-copy cutoff."""
    out = subprocess.run(
        [sys.executable, "-c", ROUND_TRIP, redis_server.url, key(), hiredis],
        env=dict(os.environ, PYTHONPATH=SRC),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "samples 25000" in out.stdout
    if hiredis == "block":
        assert "hiredis False" in out.stdout


def test_publisher_sends_large_values_without_a_packing_copy(redis_server: Any) -> None:
    """With hiredis installed the publisher keeps redis-py's Python packer, which passes values
    over its cutoff to the socket as they are (hiredis's packer copies them into one bytes)."""
    from livetrace.transport import _redis

    conn = pytest.importorskip("redis.connection")
    packer = _redis._copy_free_packer()
    if not conn.HIREDIS_AVAILABLE:
        assert packer is None
        return
    payload = b"x" * 100_000
    pieces = packer.pack("XADD", "k", "*", "d", payload)
    assert any(p is payload for p in pieces)
