"""RedisPublisher and RedisSource over TLS (``rediss://``), against a real redis-server serving
only TLS with a certificate made for the test."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from _helpers import free_port
from livetrace import EndOfStream, SourceUnavailableError, TraceMetadata, WaveformTrace
from livetrace.sinks import RedisPublisher
from livetrace.sources import SourceInfo, open_source

pytest.importorskip("redis")

REDIS_SERVER = shutil.which("redis-server")
OPENSSL = shutil.which("openssl")
RATE = 10_000.0


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """``(port, CA file)`` of a redis-server accepting only TLS connections on 127.0.0.1."""
    if REDIS_SERVER is None or OPENSSL is None:
        pytest.skip("redis-server and openssl are needed (scripts/install-test-deps)")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    port = free_port()
    proc = subprocess.Popen(
        [REDIS_SERVER, "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
         "--tls-cert-file", str(cert), "--tls-key-file", str(key), "--tls-auth-clients", "no",
         "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        context = ssl.create_default_context(cafile=str(cert))
        deadline = time.monotonic() + 10
        while True:  # ready when a TLS PING is answered
            try:
                with (
                    socket.create_connection(("127.0.0.1", port), timeout=0.5) as raw,
                    context.wrap_socket(raw, server_hostname="127.0.0.1") as s,
                ):
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        yield port, cert
    finally:
        proc.terminate()
        proc.wait(10)


def _chunk(start: int, n: int) -> WaveformTrace:
    return WaveformTrace(
        np.arange(start, start + n, dtype=np.float64),
        TraceMetadata(sample_rate=RATE, start_index=start),
    )


def test_a_stream_crosses_tls_exactly(tls_server: tuple[int, Path]) -> None:
    port, ca = tls_server
    url = f"rediss://127.0.0.1:{port}/lt-{uuid.uuid4().hex[:8]}"
    tls = f"ssl_cert_reqs=required&ssl_ca_certs={ca}"
    with RedisPublisher(f"{url}?{tls}") as pub:  # closing it ends the stream for readers
        pub.open(SourceInfo(sample_rate=RATE, dtype="float64"))
        for start in range(0, 3000, 1000):
            pub.write(_chunk(start, 1000))
    src = open_source(f"{url}?from=start&{tls}")
    blocks = []
    deadline = time.monotonic() + 20
    try:
        while time.monotonic() < deadline:
            try:
                block = src.acquire()  # type: ignore[attr-defined]
            except EndOfStream:
                break
            if block is not None:
                blocks.append(block)
    finally:
        src.close()  # type: ignore[attr-defined]
    data = np.concatenate([np.asarray(b.data).reshape(-1) for b in blocks])
    np.testing.assert_array_equal(data, np.arange(3000.0))
    assert blocks[0].start_index == 0


def test_an_untrusted_certificate_is_refused_with_the_reason(
    tls_server: tuple[int, Path],
) -> None:
    port, _ = tls_server
    with pytest.raises(SourceUnavailableError, match="(?i)certificate"):
        open_source(f"rediss://127.0.0.1:{port}/k?ssl_cert_reqs=required")
