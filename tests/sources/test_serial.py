"""SerialSource through a real pseudo-terminal pair, with a writer thread emulating a device."""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from livetrace import (
    ConfigurationError,
    RealtimeStream,
    SourceError,
    SourceUnavailableError,
)
from livetrace.sources import Block, SerialSource, open_source

DEADLINE = 10.0


class Pty:
    """A pty pair: the source opens ``path`` (the slave); the test writes to ``master``."""

    def __init__(self) -> None:
        self.master, slave = os.openpty()
        self.path = os.ttyname(slave)
        self._slave = slave

    def opened(self) -> None:
        """Call once the source opened the port (pyserial has set raw mode)."""
        if self._slave is not None:
            os.close(self._slave)
            self._slave = None  # type: ignore[assignment]  # closed

    def write(self, data: bytes, pieces: list[int] | None = None) -> None:
        sizes = pieces or [len(data) or 1]
        pos = i = 0
        while pos < len(data):
            n = sizes[i % len(sizes)]
            os.write(self.master, data[pos : pos + n])
            pos += n
            i += 1

    def unplug(self) -> None:
        if self.master is not None:
            os.close(self.master)
            self.master = None  # type: ignore[assignment]  # closed

    def close(self) -> None:
        self.opened()
        self.unplug()


@pytest.fixture
def pty() -> Iterator[Pty]:
    p = Pty()
    yield p
    p.close()


def read_until(src: SerialSource, n: int) -> np.ndarray:
    parts, got = [], 0
    deadline = time.monotonic() + DEADLINE
    while got < n and time.monotonic() < deadline:
        out = src.acquire()
        if out is None:
            continue
        data = out.data if isinstance(out, Block) else out
        parts.append(data)
        got += len(data)
    return np.concatenate(parts)


ARDUINO = (
    b"512,498\r\n"
    b"513\t497\r\n"
    b"garbage\r\n"  # malformed: not numbers
    b"514 496\r\n"
    b"1,2,3\r\n"  # malformed: three fields
    b"\r\n"  # blank: skipped, not malformed
    b"515, 495\r\n"
    b"-1.5,2e3\n"
)


def test_text_mode_arduino_lines_exact_through_stream(pty: Pty) -> None:
    src = SerialSource(pty.path, sample_rate=100, channels=2)
    stream = RealtimeStream.from_source(src, overflow="block", chunk_size=5)
    stream.start()
    pty.opened()
    pty.write(ARDUINO, pieces=[1, 3, 7])
    chunk = next(iter(stream))
    stream.stop()
    np.testing.assert_array_equal(
        chunk.data, [[512, 498], [513, 497], [514, 496], [515, 495], [-1.5, 2000]]
    )
    h = src.health()
    assert (h["lines"], h["malformed_lines"], h["last_malformed"]) == (7, 2, "1,2,3\r")
    assert h["bytes_received"] == len(ARDUINO)


def test_text_mode_detects_channel_count_from_first_line(pty: Pty) -> None:
    """Like the Arduino serial plotter: the first valid lines give the channel count, and
    the lines read to find it are delivered, none lost."""
    src = SerialSource(pty.path, sample_rate=100, probe_timeout=DEADLINE)
    found: list[int] = []
    prober = threading.Thread(target=lambda: found.append(src.info.n_channels))
    prober.start()
    deadline = time.monotonic() + DEADLINE
    while not src.health()["open"] and time.monotonic() < deadline:
        time.sleep(0.01)
    pty.opened()
    pty.write(b"junk\r\n1\t2\t3\r\n4\t5\t6\r\n")
    prober.join(DEADLINE)
    assert found == [3]
    stream = RealtimeStream.from_source(src, overflow="block", chunk_size=2)
    stream.start()
    chunk = next(iter(stream))
    stream.stop()
    np.testing.assert_array_equal(chunk.data, [[1, 2, 3], [4, 5, 6]])
    assert src.health()["malformed_lines"] == 1


def test_a_silent_port_without_channels_says_so(pty: Pty) -> None:
    src = SerialSource(pty.path, sample_rate=100, probe_timeout=0.2)
    with pytest.raises(SourceUnavailableError, match="no valid line .* pass channels=N"):
        _ = src.info
    src.stop()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cuts=st.lists(st.integers(0, 600), max_size=10), seed=st.integers(0, 2**16))
def test_text_mode_result_does_not_depend_on_where_the_bytes_are_cut(
    cuts: list[int], seed: int
) -> None:
    values = np.random.default_rng(seed).integers(-1000, 1000, size=(60, 2))
    text = "".join(f"{a},{b}\r\n" for a, b in values).encode()
    bounds = sorted({0, len(text), *[c for c in cuts if c < len(text)]})
    p = Pty()
    src = SerialSource(p.path, sample_rate=100, channels=2, dtype="int32")
    try:
        src.start()
        p.opened()
        for a, b in itertools.pairwise(bounds):
            p.write(text[a:b])
        got = read_until(src, len(values))
    finally:
        src.stop()
        p.close()
    np.testing.assert_array_equal(got, values)
    assert got.dtype == np.int32


def test_raw_mode_int16_stereo_exact_with_odd_pieces(pty: Pty) -> None:
    sent = np.arange(-3000, 3000, dtype=np.int16).reshape(-1, 2)
    src = SerialSource(pty.path, sample_rate=1000, format="raw", dtype="int16", channels=2)
    stream = RealtimeStream.from_source(src, overflow="block", chunk_size=100)
    stream.start()
    pty.opened()
    writer = threading.Thread(target=pty.write, args=(sent.tobytes(), [1, 3, 7]))
    writer.start()
    parts = []
    for chunk in stream:
        parts.append(chunk.data.copy())
        if sum(map(len, parts)) >= len(sent):
            break
    stream.stop()
    writer.join(DEADLINE)
    np.testing.assert_array_equal(np.concatenate(parts), sent)


def test_unplugging_mid_stream_raises_a_clear_source_error(pty: Pty) -> None:
    src = SerialSource(pty.path, sample_rate=100, channels=1)
    stream = RealtimeStream.from_source(src, overflow="block", chunk_size=10)
    stream.start()
    pty.opened()
    pty.write(b"".join(b"%d\n" % i for i in range(25)) + b"2")  # 25 lines + a partial one
    parts = []
    it = iter(stream)
    parts.append(next(it).data.copy())
    pty.unplug()
    t0 = time.monotonic()
    with pytest.raises(SourceError) as info:
        for chunk in it:
            parts.append(chunk.data.copy())
    assert time.monotonic() - t0 < DEADLINE
    np.testing.assert_array_equal(np.concatenate(parts), np.arange(25))
    first = stream.errors[0].error
    assert isinstance(first, SourceError)
    assert f"SerialSource {pty.path}: the device stopped answering (unplugged?)" in str(first)
    assert isinstance(info.value.__cause__, SourceUnavailableError)  # reopening failed too
    assert pty.path in str(info.value.__cause__)
    h = src.health()
    assert (h["disconnects"], h["discarded_bytes"], h["open"]) == (1, 1, False)
    t0 = time.monotonic()
    stream.stop()
    assert time.monotonic() - t0 < 0.5


@pytest.mark.parametrize("fmt", ["text", "raw"])
def test_silent_port_lets_stop_return_promptly(pty: Pty, fmt: str) -> None:
    src = SerialSource(pty.path, sample_rate=100, format=fmt, dtype="uint8", channels=1)
    stream = RealtimeStream.from_source(src)
    stream.start()
    pty.opened()
    time.sleep(0.15)
    t0 = time.monotonic()
    stream.stop()
    assert time.monotonic() - t0 < 0.5
    assert src.health()["open"] is False


def test_restart_reopens_and_marks_discontinuity(pty: Pty) -> None:
    src = SerialSource(pty.path, sample_rate=100, channels=1)
    src.start()
    pty.write(b"1\n2\n")
    np.testing.assert_array_equal(read_until(src, 2), [1, 2])
    src.stop()
    src.start()
    pty.opened()
    pty.write(b"3\n")
    out = None
    deadline = time.monotonic() + DEADLINE
    while out is None and time.monotonic() < deadline:
        out = src.acquire()
    src.stop()
    assert isinstance(out, Block)
    assert out.discontinuity
    np.testing.assert_array_equal(out.data, [3])


def test_missing_port_is_unavailable() -> None:
    src = open_source("serial:///dev/does-not-exist?sample_rate=100&channels=1")
    with pytest.raises(SourceUnavailableError, match="'/dev/does-not-exist' does not exist"):
        src.start()
    # without channels= the count is probed: the missing port is what the user hears about
    src = open_source("serial:///dev/does-not-exist?baudrate=115200&format=text&sample_rate=1000")
    with pytest.raises(SourceUnavailableError, match="does not exist"):
        RealtimeStream.from_source(src)


def test_serial_uri_builds_the_described_source() -> None:
    src = open_source(
        "serial:///dev/ttyUSB0?baudrate=9600&format=raw&dtype=uint16&channels=3"
        "&sample_rate=500&byteorder=big&timeout=0.02"
    )
    assert isinstance(src, SerialSource)
    assert (src.port, src.baudrate, src.format, src.timeout) == ("/dev/ttyUSB0", 9600, "raw", 0.02)
    info = src.info
    assert (info.dtype, info.n_channels, info.sample_rate) == ("uint16", 3, 500.0)
    assert info.description == (  # the URI that recreates the source
        "serial:///dev/ttyUSB0?baudrate=9600&format=raw&dtype=uint16&channels=3"
        "&sample_rate=500&byteorder=big&timeout=0.02"
    )
    text = open_source("serial:COM3?sample_rate=10&channels=2&delimiters=;")
    assert isinstance(text, SerialSource)
    assert (text.port, text.format, text.info.dtype) == ("COM3", "text", "float64")


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("serial:///dev/ttyUSB0", "sample_rate is required"),
        ("serial:///dev/ttyUSB0?sample_rate=1&parity=E", "unknown parameter.*parity.*baudrate"),
        ("serial:///dev/ttyUSB0?sample_rate=1&format=csv", "format must be 'text' or 'raw'"),
        ("serial:///dev/ttyUSB0?sample_rate=1&format=raw", "needs the sample dtype"),
        ("serial:///dev/ttyUSB0?sample_rate=1&baudrate=fast", "baudrate='fast' is invalid"),
        ("serial:///dev/ttyUSB0?sample_rate=1&channels=0", "channels must be an integer >= 1"),
        ("serial:///dev/ttyUSB0?sample_rate=1&timeout=5", r"timeout must be in \(0, 0.1\]"),
        ("serial:///dev/ttyUSB0?sample_rate=1&dtype=complex64", "integer or float"),
        ("serial:?sample_rate=1", "expected serial:///dev/ttyUSB0"),
    ],
)
def test_bad_serial_uris_say_what_is_wrong(uri: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        open_source(uri)
