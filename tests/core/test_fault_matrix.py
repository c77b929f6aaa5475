"""The fault matrix: every source kind against the faults it can meet, through a real stream.

Each case runs a ``RealtimeStream.from_source(...)`` over a real counterpart (a TCP peer, UDP
datagrams, a child program, a pseudo-terminal, a ZeroMQ socket, a file replayed while it is
changed) with the consumer in its own thread, and asserts:

- what was acquired before the fault is delivered exactly, in order;
- the fault reaches the consumer as :class:`~livetrace.SourceError` naming the source, or the
  loss is counted (``health()``, ``metadata.gap`` / ``discontinuity``), within a deadline;
- ``stop()`` returns within 0.5 s and the consumer's loop ends within 0.5 s of it;
- no thread and no file descriptor is left behind (``threading.enumerate()`` and
  ``/proc/self/fd`` before and after);
- a fault that could kill the interpreter (a file truncated or replaced under a replay)
  runs in a child interpreter whose exit status must be 0 or 1, never a signal, and the
  consumer there gets SourceError naming the file.
"""

from __future__ import annotations

import gc
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from _helpers import TcpPeer
from livetrace import RealtimeStream, RetryPolicy, SourceError, TraceMetadata
from livetrace.sources import ProcessSource, SerialSource, TcpSource, UdpSource, ZmqSource

DEADLINE = 10.0  # generous bound for anything that must happen "soon" on a loaded machine
STOP_BUDGET = 0.5  # README: stop() returns within 0.5 s; a loop in another thread ends too
IDLE = 0.3  # idle_timeout of the silence and hang faults
IDLE_DETECTION = IDLE + 0.25  # README: detected within idle_timeout + 0.25 s
SLACK = 1.0  # scheduling slack on 2 shared cores, for detection bounds only

pytestmark = pytest.mark.timeout(60)


# ---------------------------------------------------------------------- harness
def _fds() -> dict[str, str]:
    """Open descriptors and what each points at (the one that listed them is closed by
    then, and left out)."""
    out = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            out[fd] = os.readlink(f"/proc/self/fd/{fd}")
        except FileNotFoundError:
            continue  # closed since it was listed
    return out


@pytest.fixture(autouse=True)
def no_leaks() -> Iterator[None]:
    """Fail when a case leaves a thread or a file descriptor behind."""
    gc.collect()
    threads = set(threading.enumerate())
    fds = _fds()
    yield
    deadline = time.monotonic() + 2.0
    while True:
        gc.collect()
        extra_threads = [t.name for t in threading.enumerate() if t not in threads]
        extra_fds = {fd: where for fd, where in _fds().items() if fds.get(fd) != where}
        if not extra_threads and not extra_fds:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"left behind: threads {extra_threads}, file descriptors {extra_fds}")
        time.sleep(0.02)


def wait_until(condition: Callable[[], bool], timeout: float = DEADLINE) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


class Consumer:
    """Iterates ``stream`` in its own thread, keeping copies of the chunks and the error."""

    def __init__(self, stream: RealtimeStream) -> None:
        self.stream = stream
        self.parts: list[np.ndarray] = []
        self.metas: list[TraceMetadata] = []
        self.error: BaseException | None = None
        self.ended = threading.Event()
        self.t_end = 0.0
        self.t_start = time.monotonic()
        stream.start()
        self.thread = threading.Thread(target=self._run, name="fault-matrix-consumer")
        self.thread.start()

    def _run(self) -> None:
        try:
            for chunk in self.stream:
                self.parts.append(np.array(chunk.data, copy=True))
                self.metas.append(chunk.metadata)
        except BaseException as exc:  # handed to the test thread, which asserts on it
            self.error = exc
        finally:
            self.t_end = time.monotonic()
            self.ended.set()

    @property
    def n(self) -> int:
        return sum(len(p) for p in self.parts)

    def values(self) -> np.ndarray:
        return np.concatenate(self.parts) if self.parts else np.empty(0)

    def wait_end(self, timeout: float = DEADLINE) -> float:
        """Seconds from start until the loop ended (by itself: an error or the end)."""
        assert self.ended.wait(timeout), "the consumer's loop did not end"
        return self.t_end - self.t_start

    def stop(self) -> None:
        """``stop()`` within the budget, and the consumer's loop ends within it too."""
        t0 = time.monotonic()
        self.stream.stop()
        took = time.monotonic() - t0
        self.thread.join(STOP_BUDGET)
        assert took < STOP_BUDGET, f"stop() took {took:.3f} s"
        assert not self.thread.is_alive(), "the consumer's loop did not end after stop()"


def assert_source_error(c: Consumer, source: str, *words: str) -> SourceError:
    """The consumer's loop ended with SourceError naming ``source`` (and ``words``), and the
    stream reports itself failed."""
    assert isinstance(c.error, SourceError), f"expected SourceError, got {c.error!r}"
    text = str(c.error) + "\n" + str(c.error.__cause__ or "")
    assert source in text, text
    for word in words:
        assert word in text, text
    health = c.stream.health()
    assert health.state == "failed"
    assert health.source_errors >= 1
    return c.error


def assert_idle_detected(c: Consumer, source: str) -> None:
    """A silent source: ``health().idle_seconds`` grows while the stream runs, and the
    idle_timeout ends it with SourceError naming the source, within the detection bound."""
    idle = 0.0
    while not c.ended.wait(0.005) and time.monotonic() - c.t_start < DEADLINE:
        idle = max(idle, c.stream.health().idle_seconds)
    took = c.wait_end()
    assert_source_error(c, source, f"idle_timeout={IDLE:g} s")
    assert IDLE <= took < IDLE_DETECTION + SLACK, took
    assert idle >= IDLE / 3, idle  # seen growing before the timeout fired


def ramp(n: int, first: int = 0) -> np.ndarray:
    return np.arange(first, first + n, dtype="<f4")


# ---------------------------------------------------------------------- counterparts


class Pty:
    """A pseudo-terminal pair: the source opens ``path``; the test writes to ``master``."""

    def __init__(self) -> None:
        self.master: int | None
        self.master, slave = os.openpty()
        self.slave: int | None = slave
        self.path = os.ttyname(slave)

    def opened(self) -> None:
        """Once the source has opened the port, drop our own handle on it."""
        if self.slave is not None:
            os.close(self.slave)
            self.slave = None

    def write(self, data: bytes) -> None:
        assert self.master is not None
        os.write(self.master, data)

    def unplug(self) -> None:
        if self.master is not None:
            os.close(self.master)
            self.master = None

    def close(self) -> None:
        self.opened()
        self.unplug()


def seq_datagram(index: int, values: np.ndarray) -> bytes:
    return struct.pack("<Q", index) + values.astype("<f4").tobytes()


def child(code: str) -> list[str]:
    return [sys.executable, "-c", code]


# ---------------------------------------------------------------------- TCP
def tcp_disconnect() -> None:
    """The peer closes: the client reconnects for as long as it takes (visible in health),
    the stream keeps running well past the retry window, nothing delivered twice."""
    x = ramp(500)
    peer = TcpPeer(lambda conn, i: conn.sendall(x.tobytes()))
    src = TcpSource("127.0.0.1", peer.port, sample_rate=1e4, backoff=(0.02, 0.05))
    c = Consumer(RealtimeStream.from_source(src, chunk_size=100))
    try:
        assert wait_until(lambda: c.n >= 500 and src.health()["reconnect_attempts"] >= 2)
        time.sleep(0.3)  # longer than the default RetryPolicy takes to give up
        h = src.health()
        assert (h["disconnects"], h["reconnecting"], h["connected"]) == (1, True, False)
        assert c.stream.health().state == "running"
        assert c.stream.health().source["reconnecting"] is True
        assert not c.ended.is_set()
        np.testing.assert_array_equal(c.values(), x)
    finally:
        c.stop()
        peer.close()


def tcp_partial_sample() -> None:
    """The peer closes in the middle of a sample: the leftover is named, nothing shifts."""
    x = ramp(300)
    peer = TcpPeer(lambda conn, i: conn.sendall(x.tobytes() + b"\x01\x02"))
    src = TcpSource("127.0.0.1", peer.port, sample_rate=1e4, reconnect=False)
    c = Consumer(RealtimeStream.from_source(src, chunk_size=100))
    try:
        c.wait_end()
        assert c.error is None  # the stream then ended: the peer closed the connection
        np.testing.assert_array_equal(c.values(), x)
        health = c.stream.health()
        assert health.state == "finished"
        assert health.source_errors == 1
        first = c.stream.errors[0].error
        assert isinstance(first, SourceError)
        assert f"TcpSource 127.0.0.1:{peer.port}" in str(first)
        assert "2 leftover byte(s)" in str(first)
        assert src.health()["pending_bytes"] == 2 or src.health()["discarded_bytes"] == 2
    finally:
        c.stop()
        peer.close()


def tcp_garbage() -> None:
    """Garbage after the last whole frame (3 stray bytes), then a new connection: the stray
    bytes are discarded and counted, the new samples are flagged, none is shifted."""
    x = ramp(400)

    def handler(conn: socket.socket, i: int) -> None:
        if i == 0:
            conn.sendall(x[:200].tobytes() + b"\xde\xad\xbe")
        else:
            conn.sendall(x[200:].tobytes())

    peer = TcpPeer(handler, peers=2)
    src = TcpSource("127.0.0.1", peer.port, sample_rate=1e4)
    c = Consumer(RealtimeStream.from_source(src, chunk_size=100))
    try:
        assert wait_until(lambda: c.n >= 400)
        np.testing.assert_array_equal(c.values(), x)
        assert [(m.start_index, m.discontinuity) for m in c.metas] == [
            (0, False),
            (100, False),
            (200, True),  # samples may be missing before the new connection's first
            (300, False),
        ]
        h = src.health()
        assert (h["discarded_bytes"], h["reconnects"]) == (3, 1)
    finally:
        c.stop()
        peer.close()


def tcp_silence() -> None:
    """A connected peer that sends nothing: idle_timeout ends the stream, naming it."""
    peer = TcpPeer(lambda conn, i: peer.release.wait(DEADLINE))
    src = TcpSource("127.0.0.1", peer.port, sample_rate=1e4)
    c = Consumer(RealtimeStream.from_source(src, idle_timeout=IDLE))
    try:
        assert_idle_detected(c, "TcpSource")
    finally:
        c.stop()
        peer.close()


def tcp_reset() -> None:
    """The peer resets the connection (SO_LINGER 0): SourceError to the consumer after
    every sample received before it."""
    x = ramp(300)
    delivered = threading.Event()

    def handler(conn: socket.socket, i: int) -> None:
        conn.sendall(x.tobytes())
        delivered.wait(DEADLINE)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    peer = TcpPeer(handler)
    src = TcpSource("127.0.0.1", peer.port, sample_rate=1e4, reconnect=False)
    stream = RealtimeStream.from_source(src, chunk_size=100, retry=RetryPolicy(max_retries=0))
    c = Consumer(stream)
    try:
        assert wait_until(lambda: c.n >= 300)
        delivered.set()
        c.wait_end()
        assert_source_error(c, f"TcpSource 127.0.0.1:{peer.port}", "connection lost")
        np.testing.assert_array_equal(c.values(), x)
    finally:
        delivered.set()
        c.stop()
        peer.close()


# ---------------------------------------------------------------------- UDP
def udp_garbage() -> None:
    """A datagram shorter than its header and one with a stray byte: counted, the good
    samples exact, no gap invented."""
    src = UdpSource("127.0.0.1", 0, sample_rate=1e4, seq="u64")
    c = Consumer(RealtimeStream.from_source(src, chunk_size=100))
    x = ramp(300)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
            addr = src.address
            assert addr is not None
            tx.sendto(seq_datagram(0, x[:100]), addr)
            tx.sendto(b"\x07\x07", addr)
            tx.sendto(seq_datagram(100, x[100:200]) + b"\x09", addr)
            tx.sendto(seq_datagram(200, x[200:]), addr)
        assert wait_until(lambda: c.n >= 300)
        np.testing.assert_array_equal(c.values(), x)
        assert all(m.gap == 0 and not m.discontinuity for m in c.metas)
        h = src.health()
        assert (h["bad_datagrams"], h["discarded_bytes"], h["lost_samples"]) == (2, 3, 0)
    finally:
        c.stop()


def udp_far_sequence_jump() -> None:
    """A datagram whose sequence number is 10**15 ahead: rejected and counted; no gap of
    that size, positions go on exactly, a real loss stays exact."""
    src = UdpSource("127.0.0.1", 0, sample_rate=1e4, seq="u64")
    c = Consumer(RealtimeStream.from_source(src, chunk_size=100))
    x = ramp(500)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
            addr = src.address
            assert addr is not None
            tx.sendto(seq_datagram(0, x[:100]), addr)
            tx.sendto(seq_datagram(10**15, x[:100]), addr)
            tx.sendto(seq_datagram(100, x[100:200]), addr)
            tx.sendto(seq_datagram(300, x[300:]), addr)  # 200..299 lost
        assert wait_until(lambda: c.n >= 400)
        np.testing.assert_array_equal(c.values(), np.r_[x[:200], x[300:]])
        assert [(m.start_index, m.gap) for m in c.metas] == [(0, 0), (100, 0), (300, 100), (400, 0)]
        assert c.stream.get_buffer_stats().source_gap == 100
        h = c.stream.health().source
        assert (h["rejected_datagrams"], h["resyncs"], h["lost_samples"]) == (1, 0, 100)
    finally:
        c.stop()


def udp_silence() -> None:
    src = UdpSource("127.0.0.1", 0, sample_rate=1e4, seq="u64")
    c = Consumer(RealtimeStream.from_source(src, idle_timeout=IDLE))
    try:
        assert_idle_detected(c, "UdpSource")
    finally:
        c.stop()


# ---------------------------------------------------------------------- programs
_WRITE_RAMP = "import sys, array; sys.stdout.buffer.write(array.array('f', range(300)).tobytes())"


def exec_nonzero_exit() -> None:
    """The program fails after writing samples: they are delivered, then its status and
    stderr reach the consumer, reported once (no retry re-runs it)."""
    code = _WRITE_RAMP + "; sys.stdout.flush(); sys.stderr.write('sensor on fire\\n'); sys.exit(3)"
    src = ProcessSource(child(code), sample_rate=1e4)
    c = Consumer(RealtimeStream.from_source(src, chunk_size=100))
    try:
        c.wait_end()
        assert_source_error(c, "exec:", "exited with status 3", "sensor on fire")
        np.testing.assert_array_equal(c.values(), ramp(300))
        assert c.stream.health().source_errors == 1
    finally:
        c.stop()


def exec_killed() -> None:
    """The program is killed by a signal: named in the SourceError, after its samples."""
    code = _WRITE_RAMP + "; sys.stdout.flush(); import os, signal; os.kill(os.getpid(), 9)"
    src = ProcessSource(child(code), sample_rate=1e4)
    c = Consumer(RealtimeStream.from_source(src, chunk_size=100))
    try:
        c.wait_end()
        assert_source_error(c, "exec:", "was killed by signal SIGKILL")
        np.testing.assert_array_equal(c.values(), ramp(300))
        assert c.stream.health().source_errors == 1
    finally:
        c.stop()


def exec_hang() -> None:
    """The program writes, then hangs: idle_timeout ends the stream; stop() kills it."""
    code = _WRITE_RAMP + "; sys.stdout.flush(); import time; time.sleep(60)"
    src = ProcessSource(child(code), sample_rate=1e4)
    c = Consumer(RealtimeStream.from_source(src, chunk_size=100, idle_timeout=IDLE))
    pid = None
    try:
        assert wait_until(lambda: c.n >= 300)
        pid = src.pid
        assert pid is not None
        c.wait_end()
        assert_source_error(c, "ProcessSource", f"idle_timeout={IDLE:g} s")
        np.testing.assert_array_equal(c.values(), ramp(300))
    finally:
        c.stop()
    assert src.pid is None
    assert not os.path.exists(f"/proc/{pid}") or _state(pid) in ("Z", "X")


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return ""


def exec_garbage_text() -> None:
    """Garbage lines in text mode are skipped and counted; the numbers are exact."""
    code = "import sys; sys.stdout.write('1\\n2\\nhello\\n\\x00\\xff junk\\n3\\n4,5,6\\n4\\n')"
    src = ProcessSource(child(code), format="text", channels=1, sample_rate=1e4)
    c = Consumer(RealtimeStream.from_source(src))
    try:
        c.wait_end()
        assert c.error is None
        assert c.stream.health().state == "finished"
        np.testing.assert_array_equal(c.values(), [1, 2, 3, 4])
        assert src.health()["malformed_lines"] == 3
    finally:
        c.stop()


def exec_partial_frame() -> None:
    """The program exits (status 0) in the middle of a raw frame: every whole sample is
    delivered, then SourceError naming the incomplete frame."""
    code = _WRITE_RAMP + "; sys.stdout.buffer.write(b'\\x01\\x02')"
    src = ProcessSource(child(code), sample_rate=1e4)
    c = Consumer(RealtimeStream.from_source(src, chunk_size=100))
    try:
        c.wait_end()
        assert_source_error(c, "exec:", "2 byte(s) of an incomplete frame")
        np.testing.assert_array_equal(c.values(), ramp(300))
    finally:
        c.stop()


# ---------------------------------------------------------------------- serial
def serial_unplug() -> None:
    """The device disappears: SourceError naming the port after the samples before it."""
    pty = Pty()
    src = SerialSource(pty.path, sample_rate=100, channels=1)
    c = Consumer(RealtimeStream.from_source(src, overflow="block", chunk_size=10))
    try:
        pty.opened()
        pty.write(b"".join(b"%d\n" % i for i in range(30)))
        assert wait_until(lambda: c.n >= 30)
        pty.unplug()
        c.wait_end()
        assert_source_error(c, pty.path)
        first = c.stream.errors[0].error
        assert "the device stopped answering (unplugged?)" in str(first)
        np.testing.assert_array_equal(c.values(), np.arange(30))
    finally:
        c.stop()
        pty.close()


def serial_garbage() -> None:
    """Garbage lines never stop the stream: skipped, counted, the numbers exact."""
    pty = Pty()
    src = SerialSource(pty.path, sample_rate=100, channels=1)
    c = Consumer(RealtimeStream.from_source(src, overflow="block", chunk_size=4))
    try:
        pty.opened()
        pty.write(b"1\r\n2\r\n\xff\xfe\x00garbage\r\nnan-ish,1\r\n3\r\n4\r\n")
        assert wait_until(lambda: c.n >= 4)
        np.testing.assert_array_equal(c.values(), [1, 2, 3, 4])
        assert src.health()["malformed_lines"] == 2
        assert c.stream.health().state == "running"
    finally:
        c.stop()
        pty.close()


def serial_silence() -> None:
    pty = Pty()
    src = SerialSource(pty.path, sample_rate=100, channels=1)
    c = Consumer(RealtimeStream.from_source(src, idle_timeout=IDLE))
    try:
        pty.opened()
        assert_idle_detected(c, "SerialSource")
    finally:
        c.stop()
        pty.close()


# ---------------------------------------------------------------------- ZeroMQ
def zmq_silence() -> None:
    """A bound PULL socket nobody sends to: idle_timeout ends the stream, naming it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    src = ZmqSource(f"tcp://127.0.0.1:{port}", pattern="pull", bind=True, sample_rate=1e4)
    c = Consumer(RealtimeStream.from_source(src, idle_timeout=IDLE))
    try:
        assert_idle_detected(c, "ZmqSource")
    finally:
        c.stop()


MATRIX: dict[str, Callable[[], None]] = {
    "tcp-disconnect": tcp_disconnect,
    "tcp-partial-sample": tcp_partial_sample,
    "tcp-garbage": tcp_garbage,
    "tcp-silence": tcp_silence,
    "tcp-reset": tcp_reset,
    "udp-garbage": udp_garbage,
    "udp-far-sequence-jump": udp_far_sequence_jump,
    "udp-silence": udp_silence,
    "exec-nonzero-exit": exec_nonzero_exit,
    "exec-killed": exec_killed,
    "exec-hang": exec_hang,
    "exec-garbage-text": exec_garbage_text,
    "exec-partial-frame": exec_partial_frame,
    "serial-unplug": serial_unplug,
    "serial-garbage": serial_garbage,
    "serial-silence": serial_silence,
    "zmq-silence": zmq_silence,
}


@pytest.mark.parametrize("case", list(MATRIX))
def test_fault(case: str) -> None:
    MATRIX[case]()


# ---------------------------------------------------------------------- files, in a child
# A memory-mapped file truncated under a replay raised SIGBUS, which kills the interpreter
# (binary files are read with pread now): these run in a child interpreter, and its exit
# status is the first assertion.
_FILE_CHILD = r"""
import json, os, sys, time
import numpy as np
from livetrace import RealtimeStream, SourceError
from livetrace.sources import FileSource

path, fault = sys.argv[1], sys.argv[2]
n = 400_000  # 0.4 s of replay; the text file (2.6 MB) is more than one read block (1 MiB)
if path.endswith(".bin"):
    np.arange(n, dtype="<f4").tofile(path)
    src = FileSource(path, sample_rate=1e6, dtype="float32", speed=1.0, chunk_size=5_000)
else:
    with open(path, "w") as f:
        f.write("".join(f"{i}\n" for i in range(n)))
    src = FileSource(path, sample_rate=1e6, speed=1.0, chunk_size=5_000)
stream = RealtimeStream.from_source(src, chunk_size=5_000)
got, error, t_fault, t_error = 0, None, None, None
try:
    with stream:
        for i, chunk in enumerate(stream):
            got += len(chunk)
            if i == 2:  # replayed in real time: the rest is still to come
                t_fault = time.monotonic()
                if fault == "truncation":
                    os.truncate(path, os.path.getsize(path) // 4)
                else:
                    with open(path + ".new", "w") as f:
                        f.write("0\n" * 10)
                    os.replace(path + ".new", path)
except SourceError as exc:
    error, t_error = str(exc), time.monotonic()
print(json.dumps({"got": got, "error": error,
                  "after": None if t_error is None else t_error - t_fault}))
sys.exit(1 if error else 0)
"""


@pytest.mark.parametrize(
    ("suffix", "fault"),
    [
        pytest.param(".bin", "truncation", id="file-raw-truncation"),
        pytest.param(".bin", "replacement", id="file-raw-replacement"),
        pytest.param(".csv", "truncation", id="file-text-truncation"),
        pytest.param(".csv", "replacement", id="file-text-replacement"),
    ],
)
def test_file_changed_under_replay(tmp_path: Path, suffix: str, fault: str) -> None:
    path = tmp_path / f"capture{suffix}"
    proc = subprocess.run(
        [*child(_FILE_CHILD), str(path), fault],
        capture_output=True,
        text=True,
        timeout=4 * DEADLINE,
        check=False,
    )
    assert proc.returncode in (0, 1), (
        f"the child interpreter died (status {proc.returncode}); stderr:\n{proc.stderr[-2000:]}"
    )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["error"] is not None, f"the consumer was not told: {result}"
    assert str(path) in result["error"] or path.name in result["error"], result
    assert result["after"] < DEADLINE
