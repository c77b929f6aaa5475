"""Network source throughput: TCP, UDP and ZeroMQ loopback into stream iteration.

A child process sends float32 samples to 127.0.0.1 as fast as it can; this process receives
them (1) with a bare ``recv_into`` loop, the floor, and (2) through the source into
``RealtimeStream.from_source(src, overflow="block")`` iteration, checking that every sample
arrived in order (each chunk's first value equals its absolute index modulo the pattern
length, and nothing was dropped).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from typing import Any

from _common import Ratio, Row, main
from livetrace import RealtimeStream
from livetrace.sources import TcpSource, UdpSource, ZmqSource

PATTERN = 1 << 16  # the sender repeats arange(PATTERN) as float32
_SENDER = r"""
import socket, struct, sys, time
import numpy as np
kind, port, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
block = np.arange(1 << 16, dtype=np.float32)
if kind == "tcp":
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    big = np.tile(block, 16).tobytes()
    sent = 0
    while sent < total:
        n = min(len(big) // 4, total - sent)
        s.sendall(memoryview(big)[: 4 * n])
        sent += n
    s.close()
elif kind == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    per = 16000
    data = np.tile(block, 2)
    for first in range(0, total, per):
        payload = struct.pack("<Q", first) + data[first % (1 << 16):][:per].tobytes()
        s.sendto(payload, ("127.0.0.1", port))
    s.close()
else:
    import zmq
    ctx = zmq.Context()
    s = ctx.socket(zmq.PUSH)
    s.setsockopt(zmq.SNDHWM, 64)
    s.connect(f"tcp://127.0.0.1:{port}")
    payload = block.tobytes()
    for _ in range(total // (1 << 16)):
        s.send(payload, copy=False)
    s.close(linger=-1)
    ctx.term()
"""


def _sender(kind: str, port: int, total: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", _SENDER, kind, str(port), str(total)])


def _bare_tcp(total: int) -> float:
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    proc = _sender("tcp", server.getsockname()[1], total)
    conn, _ = server.accept()
    buf = bytearray(1 << 20)
    got = 0
    t0 = time.perf_counter()
    while True:
        n = conn.recv_into(buf)
        if not n:
            break
        got += n
    dt = time.perf_counter() - t0
    conn.close()
    server.close()
    proc.wait()
    assert got == 4 * total, (got, total)
    return total / dt


def _stream_rate(src: Any, total: int, chunk: int) -> tuple[float, Any]:
    stream = RealtimeStream.from_source(
        src, overflow="block", chunk_size=chunk, buffer_size=1 << 22
    )
    n = 0
    bad = 0
    t0 = 0.0
    with stream:
        for c in stream:
            if n == 0:
                t0 = time.perf_counter()
            if c.data[0] != c.metadata.start_index % PATTERN:
                bad += 1
            n += len(c)
            if n >= total:
                break
        dt = time.perf_counter() - t0
    health = stream.health()
    assert bad == 0, f"{bad} chunk(s) misaligned"
    return n / dt, health


def _tcp_stream(total: int) -> tuple[float, Any]:
    src = TcpSource("127.0.0.1", 0, listen=True, sample_rate=50e6, reconnect=False)
    src.start()
    assert src.address is not None
    proc = _sender("tcp", src.address[1], total)
    rate, health = _stream_rate(src, total, 1 << 16)
    proc.wait()
    return rate, health


def _udp(total: int) -> tuple[float, Any]:
    src = UdpSource("127.0.0.1", 0, sample_rate=50e6, seq="u64", recv_buffer=8 << 20)
    src.start()
    assert src.address is not None
    stream = RealtimeStream.from_source(
        src, overflow="block", chunk_size=16000, buffer_size=1 << 22
    )
    proc = _sender("udp", src.address[1], total)

    def stop_after_sender() -> None:
        proc.wait()
        time.sleep(0.3)
        stream.stop()

    n = 0
    t0 = time.perf_counter()
    watcher = threading.Thread(target=stop_after_sender)
    with stream:
        watcher.start()
        for c in stream:
            n += len(c)
    watcher.join()
    dt = time.perf_counter() - t0 - 0.3
    return n / dt, stream.health()


def _zmq(total: int) -> tuple[float, float, Any]:
    import zmq

    ctx = zmq.Context()
    pull = ctx.socket(zmq.PULL)
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    proc = _sender("zmq", port, total)
    got = 0
    t0 = 0.0
    while got < 4 * total:
        msg = pull.recv(copy=False)
        if got == 0:
            t0 = time.perf_counter()
        got += len(msg.buffer)
    bare = total / (time.perf_counter() - t0)
    pull.close(linger=0)
    ctx.term()
    proc.wait()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    src = ZmqSource(
        f"tcp://127.0.0.1:{port}", pattern="pull", bind=True, dtype="float32", sample_rate=50e6
    )
    src.start()
    proc = _sender("zmq", port, total)
    rate, health = _stream_rate(src, total, 1 << 16)
    proc.wait()
    return bare, rate, health


def run(quick: bool = False) -> tuple[list[Ratio], list[Row]]:
    """TCP/ZeroMQ/UDP loopback rates, bare socket loop vs source → stream iteration."""
    total = (20 if quick else 200) * (1 << 20)
    rows: list[Row] = []
    ratios: list[Ratio] = []
    bare = _bare_tcp(total)
    rows.append(Row("tcp bare recv_into loop (float32)", bare / 1e6, "MS/s", note="floor"))
    rate, h = _tcp_stream(total)
    lost = h.dropped + h.source_gap
    rows.append(
        Row(
            "tcp TcpSource -> stream iteration, overflow=block",
            rate / 1e6,
            "MS/s",
            target=50,
            note=f"{rate / bare:.0%} of bare; {h.samples_out} samples, lost {lost}",
        )
    )
    ratios.append(
        Ratio("TcpSource -> stream / bare recv_into", rate / 1e6, bare / 1e6, "recv_into")
    )
    zbare, zrate, zh = _zmq(total // 2)
    ratios.append(Ratio("ZmqSource -> stream / bare PULL", zrate / 1e6, zbare / 1e6, "recv loop"))
    rows.append(Row("zmq bare PULL recv loop", zbare / 1e6, "MS/s", note="floor"))
    rows.append(
        Row(
            "zmq ZmqSource(pull) -> stream iteration, overflow=block",
            zrate / 1e6,
            "MS/s",
            note=f"{zrate / zbare:.0%} of bare; lost {zh.dropped + zh.source_gap}",
        )
    )
    urate, uh = _udp(total // 4)
    src = uh.source
    rows.append(
        Row(
            "udp UdpSource(seq) -> stream iteration, unpaced sender",
            urate / 1e6,
            "MS/s",
            note=f"lost {src['lost_samples']} of {total // 4} samples "
            f"({src['lost_samples'] / (total // 4):.1%}) all counted as gaps "
            f"(stream source_gap={uh.source_gap})",
        )
    )
    return ratios, rows


if __name__ == "__main__":
    main("network sources (loopback, float32)", run, __doc__)
